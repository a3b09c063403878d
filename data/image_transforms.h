// torchvision's image transforms on RgbImage, exactly as torchvision 0.14 applies them to PIL
// images (torch-free, so the fuzz targets reach them):
//   training:   RandomResizedCrop(size, scale, ratio) then RandomHorizontalFlip(0.5)
//   evaluation: Resize(round(size * eval_resize_ratio)) then CenterCrop(size)
// Resizing is PIL's bilinear filter with its antialiasing support (Image.resize(..., BILINEAR,
// box=...)), in PIL's fixed-point arithmetic: horizontal pass, rounding to 8 bits, vertical pass.
//
// Randomness comes from a RandomSource, so a test can feed torch's own generator and compare the
// crop boxes with torchvision's, and the loader can feed a counter-based generator keyed by
// (seed, epoch, sample index).
#pragma once

#include <cstdint>

#include "data/image_decode.h"

namespace dnas {

// The draws torchvision's RandomResizedCrop.get_params and RandomHorizontalFlip make.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // torch.empty(1).uniform_(lo, hi).item(): a float32 draw in [lo, hi).
  virtual float uniform(float lo, float hi) = 0;
  // torch.randint(lo, hi, (1,)).item(): an integer in [lo, hi).
  virtual int64_t randint(int64_t lo, int64_t hi) = 0;
  // torch.rand(1).item(): a float32 draw in [0, 1).
  virtual float rand() = 0;
};

struct CropScale {
  double scale_min = 0.08, scale_max = 1.0;        // fraction of the image's area
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;  // width / height
};

// torchvision.transforms.RandomResizedCrop.get_params: 10 tries of a random area and log-uniform
// aspect ratio (w, h rounded half to even, as Python's round), else the centre crop clamped to
// the ratio range. Returns the box in the image's pixels. The float32 log and exp are those torch
// computes on x86 (SLEEF's, not glibc's logf / expf, which differ in the last bit for some
// inputs), so the same draws give torchvision's box exactly.
PixelRect random_resized_crop_box(int64_t width, int64_t height, const CropScale& scale, RandomSource& random);

// The short-side resize of evaluation: torchvision's Resize(short) output size for an image of
// width x height (the long side is int(short * long / short_side), truncated as torchvision does).
struct ImageSize {
  int64_t width = 0, height = 0;
};
ImageSize resize_short_side(int64_t width, int64_t height, int64_t short_side);
// torchvision's CenterCrop box: top = int(round((h - crop) / 2.0)), likewise left.
PixelRect center_crop_box(int64_t width, int64_t height, int64_t crop_width, int64_t crop_height);

// A box of the source image in (possibly fractional) pixel coordinates, as PIL's resize(box=...).
struct ResizeBox {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// PIL's Image.resize((out_width, out_height), Image.BILINEAR, box) of an image of
// full_width x full_height of which `source` holds only the rectangle `source_rect` (the caller
// decoded just that part): the source pixels PIL's filter reads must lie in source_rect
// (resize_source_rect gives the smallest such rectangle). Coefficients clamp at the full image's
// edges, as PIL's do, so the result equals resizing the fully decoded image. Like PIL, the box is
// held in float: a box whose corners are not float-exact (a centre crop of a resized image mapped
// back to the source) moves the filter by ~1e-6 px, which changes a few pixels by 1 compared with
// resizing first and cropping after.
RgbImage resize_bilinear(const RgbImage& source, const PixelRect& source_rect, int64_t full_width, int64_t full_height,
                         const ResizeBox& box, int64_t out_width, int64_t out_height);
// The rectangle of the full image that resize_bilinear reads for `box` and the output size.
PixelRect resize_source_rect(int64_t full_width, int64_t full_height, const ResizeBox& box, int64_t out_width,
                             int64_t out_height);

// Only `window` of that out_width x out_height result, pixel for pixel equal to the same window
// cut from resize_bilinear's: a centre crop of a resized image without resizing all of it.
RgbImage resize_bilinear_window(const RgbImage& source, const PixelRect& source_rect, int64_t full_width,
                                int64_t full_height, const ResizeBox& box, int64_t out_width, int64_t out_height,
                                const PixelRect& window);
// The rectangle of the full image that resize_bilinear_window reads.
PixelRect resize_window_source_rect(int64_t full_width, int64_t full_height, const ResizeBox& box, int64_t out_width,
                                    int64_t out_height, const PixelRect& window);

// Mirrors the image left to right, in place.
void flip_horizontal(RgbImage& image);

}  // namespace dnas

#include "data/image_pipeline.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace dnas {
namespace {

// The largest d in {8, 4, 2} such that the crop, decoded at 1/d, is still kDctScalingMargin x the
// output along both axes; 1 when none is.
int dct_denominator(const ImageInfo& info, const PixelRect& crop, const ImageTransform& t) {
  if (!t.dct_scaling || info.format != ImageFormat::jpeg) return 1;
  const double shorter = static_cast<double>(std::min(crop.width, crop.height));
  for (int d : {8, 4, 2})
    if (shorter / d >= static_cast<double>(kDctScalingMargin * t.size)) return d;
  return 1;
}

int64_t ceil_div(int64_t a, int64_t d) { return (a + d - 1) / d; }

// Interleaved RGB rows [y0, y0 + size) x columns [x0, x0 + size) of `image` to planar C x H x W.
void write_planar(const RgbImage& image, int64_t x0, int64_t y0, int64_t size, uint8_t* out) {
  const int64_t plane = size * size;
  for (int64_t y = 0; y < size; ++y) {
    const uint8_t* p = image.row(y0 + y) + x0 * 3;
    for (int64_t x = 0; x < size; ++x, p += 3) {
      const int64_t i = y * size + x;
      out[i] = p[0];
      out[plane + i] = p[1];
      out[2 * plane + i] = p[2];
    }
  }
}

// Evaluation, as torchvision composes it: the image resized (short side), then the centre cut
// out. Only the centre is computed (resize_bilinear_window), from only the rows and columns it
// reads, so the pixels equal resizing everything first.
void load_evaluation(const std::string& bytes, const std::string& path, const ImageInfo& info, const ImageTransform& t,
                     uint8_t* out) {
  const ImageSize resized = resize_short_side(info.width, info.height, eval_resize_short_side(t));
  const PixelRect crop = center_crop_box(resized.width, resized.height, t.size, t.size);
  const ResizeBox whole{0, 0, static_cast<double>(info.width), static_cast<double>(info.height)};
  const PixelRect rect =
      resize_window_source_rect(info.width, info.height, whole, resized.width, resized.height, crop);
  const RgbImage source = decode_image_region(bytes, path, rect, 1);
  const RgbImage image =
      resize_bilinear_window(source, rect, info.width, info.height, whole, resized.width, resized.height, crop);
  write_planar(image, 0, 0, t.size, out);
}

}  // namespace

int64_t eval_resize_short_side(const ImageTransform& t) {
  return static_cast<int64_t>(std::nearbyint(static_cast<double>(t.size) * t.eval_resize_ratio));
}

void load_transformed(const std::string& bytes, const std::string& path, const ImageTransform& t,
                      RandomSource& random, uint8_t* out) {
  const ImageInfo info = read_image_info(bytes, path);
  if (!t.train) return load_evaluation(bytes, path, info, t, out);
  const PixelRect crop = random_resized_crop_box(info.width, info.height, t.crop, random);
  const bool flip = random.rand() < 0.5f;
  // torchvision crops, then resizes the crop as an image of its own: the filter stops at the
  // crop's edges. So the crop is all that is decoded.
  const int d = dct_denominator(info, crop, t);
  RgbImage image;
  if (d == 1) {
    const RgbImage source = decode_image_region(bytes, path, crop, 1);
    const ResizeBox whole{0, 0, static_cast<double>(crop.width), static_cast<double>(crop.height)};
    image = resize_bilinear(source, PixelRect{0, 0, crop.width, crop.height}, crop.width, crop.height, whole, t.size,
                            t.size);
  } else {
    // The whole pixels of the image decoded at 1/d that hold the crop, and the crop's fractional
    // box within them.
    const int64_t x0 = crop.x / d, y0 = crop.y / d;
    const int64_t x1 = std::min(ceil_div(crop.x + crop.width, d), ceil_div(info.width, d));
    const int64_t y1 = std::min(ceil_div(crop.y + crop.height, d), ceil_div(info.height, d));
    const PixelRect rect{x0, y0, x1 - x0, y1 - y0};
    const RgbImage source = decode_image_region(bytes, path, rect, d);
    const ResizeBox box{static_cast<double>(crop.x) / d - x0, static_cast<double>(crop.y) / d - y0,
                        static_cast<double>(crop.x + crop.width) / d - x0,
                        static_cast<double>(crop.y + crop.height) / d - y0};
    image = resize_bilinear(source, PixelRect{0, 0, rect.width, rect.height}, rect.width, rect.height, box, t.size,
                            t.size);
  }
  if (flip) flip_horizontal(image);
  write_planar(image, 0, 0, t.size, out);
}

}  // namespace dnas

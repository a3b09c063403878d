// One sample of an image folder, from file bytes to the network's input: decode only the part
// of the image the transform reads, then torchvision's training or evaluation transform
// (image_transforms.h), written as uint8 C x H x W. Torch-free.
//
// Training: RandomResizedCrop(size, crop.scale, crop.ratio) then a horizontal flip with
// probability 1/2, drawn in that order from `random`; only the crop's rows and columns are
// decoded (torchvision crops first, then resizes the crop as an image of its own). Evaluation: Resize(round(size x eval_resize_ratio)) then
// CenterCrop(size), from the whole decoded image. Both are pixel-identical to torchvision on PIL
// images (tests/test_image_stream.cpp) unless DCT scaling applies.
//
// DCT scaling (dct_scaling, on by default): a JPEG whose crop box is at least
// kDctScalingMargin x the output size along both axes is decoded at 1/2, 1/4 or 1/8 of its size
// by libjpeg's scaled IDCT (the largest factor that keeps that margin), and the resize then
// downsamples that. Since the resize still shrinks by at least 2x, its antialiasing filter
// dominates and the result stays close to the exact path: on tests/test_image_stream.cpp's
// images a mean |difference| from torchvision under 1 grey level (0.4-0.8), at most 9. Crops that
// are only mildly downsampled (all of RandomResizedCrop's at 224 from ImageNet's typical
// ~500x375) and every evaluation take the exact path.
#pragma once

#include <cstdint>
#include <string>

#include "data/image_transforms.h"

namespace dnas {

inline constexpr int64_t kDctScalingMargin = 2;

struct ImageTransform {
  int64_t size = 224;
  bool train = true;
  CropScale crop;
  double eval_resize_ratio = 256.0 / 224.0;
  bool dct_scaling = true;
};

// The short side Resize gives before the centre crop: round(size x ratio), half to even.
int64_t eval_resize_short_side(const ImageTransform& transform);

// Decodes `bytes` (the file at `path`, for errors) and writes 3 x size x size bytes to `out`.
void load_transformed(const std::string& bytes, const std::string& path, const ImageTransform& transform,
                      RandomSource& random, uint8_t* out);

}  // namespace dnas

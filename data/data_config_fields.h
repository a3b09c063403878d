// The config fields every run that reads data shares (TrainConfig, SearchConfig): the image size,
// the sample cap, and an image folder's decoding settings (data_options() in dataset.h reads them).
// Defined once here, so `dnas train` and `dnas search` name, document and bound them alike.
#pragma once

#include "common/config_fields.h"

namespace dnas {

// What the data fields accept; also checks the same flags of the commands that take them without a
// config (`dnas eval`, `dnas bench loader`).
namespace data_range {
inline Range image_size() { return Range::between(1, kMaxImageSize); }
inline Range loader_threads() { return Range::between(0, kMaxThreads); }
inline Range crop_scale_min() { return Range::above_to(0, 1); }
inline Range eval_resize_ratio() { return Range::between(1, 4); }
}  // namespace data_range

template <typename Config>
void add_data_fields(ConfigFields<Config>& fields) {
  using C = Config;
  fields.integer("image_size", &C::image_size, "Image size for folder datasets (the crop the network sees)",
                 data_range::image_size())
      .integer("max_samples", &C::max_samples, "Use only the first N training images (0: all)", Range::at_least(0))
      .integer("loader_threads", &C::loader_threads,
               "Threads decoding image folders (0: the core count; batches do not depend on it)",
               data_range::loader_threads())
      .not_compared_on_resume()
      .boolean("skip_bad_images", &C::skip_bad_images,
               "Image folders: skip corrupt or unreadable files (counted and reported) instead of stopping")
      .number("crop_scale_min", &C::crop_scale_min,
              "Image folders: RandomResizedCrop's smallest crop, as a fraction of the image's area",
              data_range::crop_scale_min())
      .number("eval_resize_ratio", &C::eval_resize_ratio,
              "Image folders: evaluation resizes the short side to image-size x this, then centre-crops",
              data_range::eval_resize_ratio());
}

}  // namespace dnas

// Everything that defines a `dnas train` run, resolved: written to <run>/config.json, read back by
// --resume (which refuses a changed config, naming the keys) and accepted by --config; recipes
// (configs/recipes/*.json, "format": "dnas-recipe/1") set some of the same fields. Every field is
// defined once, in train_config_fields(), which also gives `dnas train` its flags.
#pragma once

#include <cstdint>
#include <string>

#include "common/config_fields.h"
#include "common/json.h"

namespace dnas {

struct TrainConfig {
  std::string arch;                  // zoo name or arch .json
  std::string data = "synthetic";
  std::string device = "cpu";
  std::string out = "runs/train";
  std::string recipe;                // the recipe it started from, for the record
  int64_t epochs = 10;
  int64_t batch_size = 64;
  double lr = 0.1, momentum = 0.9, weight_decay = 1e-4;
  bool nesterov = false;
  int64_t warmup_epochs = 0;
  std::string schedule = "cosine";   // cosine | linear (to 0)
  double label_smoothing = 0.1;
  bool augment = true;
  int64_t seed = 0, threads = 0, image_size = 32, max_samples = 0, checkpoint_every = 0;
  int64_t eval_every = 1;           // test every N epochs and after the last
  std::string train_layout = "nhwc";  // nhwc (channels-last, LibTorch's fast CPU depthwise kernels) or nchw
  int64_t loader_threads = 0;       // image folders: decoding threads (0: the core count)
  bool skip_bad_images = false;     // image folders: skip bad files instead of stopping
  double crop_scale_min = 0.08;     // image folders: RandomResizedCrop's smallest area fraction
  double eval_resize_ratio = 256.0 / 224.0;  // image folders: Resize(size x this), CenterCrop(size)

  // Every field's range (train_config_fields()), then the rules between fields.
  void validate() const;
};

const ConfigFields<TrainConfig>& train_config_fields();

inline Json train_config_to_json(const TrainConfig& config) { return train_config_fields().to_json(config); }
// Reads the keys present in `document` over `base` (recipes carry only some); unknown keys throw.
inline TrainConfig train_config_from_json(const Json& document, const std::string& origin, TrainConfig base = {}) {
  return train_config_fields().from_json(document, origin, std::move(base));
}

}  // namespace dnas

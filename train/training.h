// Training a concrete architecture from scratch (`dnas train`) and evaluating it (`dnas eval`).
// SGD with momentum (optionally Nesterov), linear warm-up then cosine or linear decay, weight
// decay, label smoothing, and the usual augmentation for the dataset (random translation; plus
// horizontal flips for natural images). The arch adapts to the data's size, channels and classes.
// The run directory holds config.json, log.jsonl (per epoch: train loss / accuracy, test top-1 /
// top-5 / loss, lr), last.pt and best.pt (weights, see weights.h) and checkpoint.pt (atomic, for
// an exact --resume: every random draw derives from (seed, epoch, step)).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "train/distributed.h"
#include "supernet/arch_spec.h"

namespace torch::nn {
class Module;
}

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
  std::string memory_format = "nhwc";  // nhwc (channels-last, LibTorch's fast CPU depthwise kernels) or nchw

  void validate() const;
};

nlohmann::json train_config_to_json(const TrainConfig& config);
// Reads the keys present in `document` over `base` (recipes carry only some); unknown keys throw.
TrainConfig train_config_from_json(const nlohmann::json& document, const std::string& origin, TrainConfig base = {});

// The arch with its input and classifier adapted to the dataset.
ArchSpec arch_for_data(ArchSpec arch, const Dataset& data);

struct EvalResult {
  double top1 = 0, top5 = 0, loss = 0, images_per_s = 0;
  int64_t images = 0;
};
// Top-1 / top-5 / loss over every image of `data`; distributed, each rank scores every
// world.size()-th image and the sums are combined, so every rank returns the same result.
EvalResult evaluate(torch::nn::Module& network, const std::function<at::Tensor(at::Tensor)>& forward,
                    const Dataset& data, int64_t batch_size, c10::Device device, const World& world = World());

struct TrainEpoch {
  int64_t epoch = 0;
  double train_loss = 0, train_accuracy = 0, lr = 0, seconds = 0;
  EvalResult test;
};

struct TrainCallbacks {
  std::function<void(int64_t epoch, int64_t step, int64_t steps, double loss)> on_step;
  std::function<void(const TrainEpoch&)> on_epoch;
};

struct TrainResult {
  bool interrupted = false;
  double best_top1 = 0;
  int64_t best_epoch = -1;
  std::vector<TrainEpoch> epochs;
};

// Distributed over `world` (see train/distributed.h): batch_size is per rank, each rank trains
// on its shard of every global batch with its own augmentation draws, gradients are averaged,
// evaluation is split over the ranks, and rank 0 alone writes the run directory.
// Without a World: a single process on config.device (cuda means cuda:0).
TrainResult run_training(const TrainConfig& config, bool resume, const std::atomic<bool>* interrupt,
                         const TrainCallbacks& callbacks, const World& world);
TrainResult run_training(const TrainConfig& config, bool resume, const std::atomic<bool>* interrupt,
                         const TrainCallbacks& callbacks);

}  // namespace dnas

// Training a concrete architecture from scratch (`dnas train`): SGD with momentum (optionally
// Nesterov), linear warm-up then cosine or linear decay, weight decay, label smoothing, and the
// usual augmentation for the dataset (data/augment.h). The arch adapts to the data's size,
// channels and classes. The run directory (run_dir.h) holds config.json, arch.json, log.jsonl (per
// epoch: train loss / accuracy, lr, and test top-1 / top-5 / loss on the epochs --eval-every
// scores, always the last), last.pt and best.pt (the best scored epoch's weights, see weights.h)
// and checkpoint.pt (for an exact --resume: every random draw derives from (seed, epoch, step)).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "train/distributed.h"
#include "train/evaluate.h"
#include "train/train_config.h"

namespace dnas {

struct TrainEpoch {
  int64_t epoch = 0;
  double train_loss = 0, train_accuracy = 0, lr = 0, seconds = 0;
  double data_wait_seconds = 0;  // of the training steps, time spent waiting for the loader (this process)
  std::optional<EvalResult> test;  // empty on the epochs that --eval-every leaves unscored
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
  std::vector<std::string> skipped_images;  // --skip-bad-images: "<path>: <reason>", train and test sets
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

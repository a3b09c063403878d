// Trial training (`dnas search --select trained`): a candidate arch trained briefly from scratch
// and scored on held-out images, FBNet's last step in miniature (the paper trains 6 archs drawn
// from softmax(theta) and keeps the best).
//
// Why: the supernet's score of a fixed arch ranked the search-quality picks no better than chance
// (Kendall tau -0.23 / -0.26 against their retrained accuracy, bench/README.md), while one epoch
// from scratch ranked them at +0.28 / +0.46 (bench/trial_rank.py).
#pragma once

#include <cstdint>
#include <vector>

#include <c10/core/Device.h>

#include "data/dataset.h"
#include "supernet/arch_spec.h"

namespace dnas {

struct TrialSettings {
  int64_t epochs = 3;
  int64_t images = 0;  // the first this many of the training split (0: all of it)
  int64_t batch_size = 64;
  double lr = 0.1, momentum = 0.9, weight_decay = 1e-4;
  uint64_t seed = 0;
  bool channels_last = true;
};

struct TrialResult {
  double accuracy = 0;  // top-1 on the scoring split
  double loss = 0;      // mean cross-entropy on the scoring split (no label smoothing)
  double seconds = 0;
};

// Trains a fresh Network of `arch` (its input and classes already the data's) on `train_split`
// of `data` with the recipe of `dnas train`: SGD with momentum, the learning rate decaying by a
// cosine over every step, label smoothing 0.1, the dataset's usual augmentation; then scores it in
// eval mode on `score_split` (top-1 and mean cross-entropy). The same `seed` gives every arch the
// same batches and augmentation draws (and, for equal shapes, the same initial weights), so two
// archs' results differ by their architecture rather than by their luck. Changes the global torch generator's state.
TrialResult trial_train(const ArchSpec& arch, const Dataset& data, const std::vector<int64_t>& train_split,
                        const std::vector<int64_t>& score_split, const TrialSettings& settings, c10::Device device);

}  // namespace dnas

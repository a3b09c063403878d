// Batches of one split of a Dataset for one epoch, prepared by a background thread (gather, scale
// to [0, 1], normalise per channel, move to the device) into a small bounded queue, so the
// training step never waits on data. The order is a permutation of the split derived from
// `order_seed` alone, and loading can start at any batch: a resumed epoch sees exactly the batches
// an uninterrupted one would have. The last incomplete batch is dropped (BatchNorm needs > 1).
//
// Data parallelism: with a Shard {rank, ranks}, each step's global batch is ranks x batch_size
// consecutive entries of that permutation and this loader yields the rank-th slice of it, so the
// ranks together see exactly what one process with batch ranks x batch_size would see.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "data/dataset.h"

namespace dnas {

struct Batch {
  at::Tensor images;  // float [B, C, H, W], normalised
  at::Tensor labels;  // int64 [B]
};

struct Shard {
  int64_t rank = 0;
  int64_t ranks = 1;
};

class BatchLoader {
 public:
  BatchLoader(const Dataset& data, std::vector<int64_t> split, int64_t batch_size, uint64_t order_seed,
              int64_t first_batch, c10::Device device, Shard shard = {}, size_t prefetch = 3);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Number of full (global) batches in an epoch of this split.
  int64_t batches() const { return batches_; }
  // False when the epoch is over.
  bool next(Batch& batch);

 private:
  void produce();

  const Dataset& data_;
  std::vector<int64_t> order_;
  int64_t batch_size_;
  Shard shard_;
  int64_t batches_, next_batch_;
  c10::Device device_;
  size_t prefetch_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> queue_;
  bool done_ = false, stop_ = false;
  std::string error_;
  std::thread worker_;
};

// A deterministic split of [0, n): the first `fraction` of a seeded permutation, and the rest.
std::pair<std::vector<int64_t>, std::vector<int64_t>> split_indices(int64_t n, double fraction, uint64_t seed);

}  // namespace dnas

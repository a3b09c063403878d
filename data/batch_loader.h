// Batches of one split of a Dataset for one epoch, prepared by a background thread into a small
// bounded queue (`prefetch` batches), so the step rarely waits on data: the images are gathered
// (or, for a streamed folder, decoded by the stream's worker threads) as uint8, copied to the
// device (through pinned memory on CUDA) and only there scaled and normalised. Memory is bounded
// by prefetch x batch, whatever the dataset's size.
//
// The order is a permutation of the split derived from `order_seed` alone, and loading can start
// at any batch: a resumed epoch sees exactly the batches an uninterrupted one would have (a
// checkpoint records only the epoch and the batch). The last incomplete batch is dropped
// (BatchNorm needs > 1). `augment` selects a streamed folder's training transform, keyed by
// order_seed and the sample index (in-memory data ignores it).
//
// Data parallelism follows torch's DistributedSampler: the permutation is padded to a multiple of
// the ranks by repeating its first entries, so every rank gets as many samples, disjoint apart
// from that padding, reshuffled each epoch (each epoch's order_seed differs). Each step's global
// batch is ranks x batch_size consecutive entries of the padded permutation and a rank takes the
// rank-th slice of it, so the ranks together see exactly what one process with batch
// ranks x batch_size would see.
#pragma once

#include <chrono>
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
              int64_t first_batch, c10::Device device, Shard shard = {}, bool augment = false, size_t prefetch = 3);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Number of full (global) batches in an epoch of this split.
  int64_t batches() const { return batches_; }
  // False when the epoch is over.
  bool next(Batch& batch);
  // Seconds next() spent waiting for a batch that was not ready yet: the step's data stall.
  double waited_seconds() const { return waited_seconds_; }

 private:
  void produce();
  // A float batch tensor nobody else holds any more, from a small ring, or a new one: a streamed
  // batch is ~40 MB at 224 px, and a fresh allocation that size is mapped and page-faulted anew.
  at::Tensor recycled_batch(int64_t batch_size, int64_t size);

  const Dataset& data_;
  std::vector<int64_t> order_;
  int64_t batch_size_;
  Shard shard_;
  bool augment_;
  uint64_t key_;
  int64_t batches_, next_batch_;
  c10::Device device_;
  size_t prefetch_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> queue_;
  std::vector<at::Tensor> spare_;  // producer thread only
  bool done_ = false, stop_ = false;
  double waited_seconds_ = 0;
  std::string error_;
  std::thread worker_;
};

// Full global batches in an epoch of n samples over `ranks` ranks (DistributedSampler's padding).
int64_t batches_per_epoch(int64_t n, int64_t batch_size, int64_t ranks);

// The order of an epoch: `split` shuffled by order_seed, padded to a multiple of `ranks`.
std::vector<int64_t> epoch_order(std::vector<int64_t> split, uint64_t order_seed, int64_t ranks);

// The samples rank `shard.rank` sees in an epoch, in order (what its BatchLoader yields).
std::vector<int64_t> shard_samples(const std::vector<int64_t>& order, int64_t batch_size, Shard shard);

// A deterministic split of [0, n): the first `fraction` of a seeded permutation, and the rest.
std::pair<std::vector<int64_t>, std::vector<int64_t>> split_indices(int64_t n, double fraction, uint64_t seed);

}  // namespace dnas

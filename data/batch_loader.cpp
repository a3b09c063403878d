#include "data/batch_loader.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "common/error.h"

namespace dnas {

std::pair<std::vector<int64_t>, std::vector<int64_t>> split_indices(int64_t n, double fraction, uint64_t seed) {
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(all.begin(), all.end(), rng);
  const auto cut = static_cast<size_t>(std::llround(fraction * static_cast<double>(n)));
  std::vector<int64_t> first(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(cut));
  std::vector<int64_t> second(all.begin() + static_cast<std::ptrdiff_t>(cut), all.end());
  return {first, second};
}

BatchLoader::BatchLoader(const Dataset& data, std::vector<int64_t> split, int64_t batch_size, uint64_t order_seed,
                         int64_t first_batch, c10::Device device, Shard shard, size_t prefetch)
    : data_(data), order_(std::move(split)), batch_size_(batch_size), shard_(shard),
      batches_(static_cast<int64_t>(order_.size()) / (batch_size * shard.ranks)), next_batch_(first_batch),
      device_(device), prefetch_(prefetch) {
  DNAS_CHECK(batch_size >= 2, "--batch-size: expected at least 2 (BatchNorm), got ", batch_size);
  DNAS_ASSERT(shard.ranks >= 1 && shard.rank >= 0 && shard.rank < shard.ranks, "data loader: shard ", shard.rank, " of ",
             shard.ranks);
  std::mt19937_64 rng(order_seed);
  std::shuffle(order_.begin(), order_.end(), rng);
  worker_ = std::thread([this] { produce(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void BatchLoader::produce() {
  try {
    for (int64_t b = next_batch_; b < batches_; ++b) {
      const auto first = order_.begin() + (b * shard_.ranks + shard_.rank) * batch_size_;
      const at::Tensor index = at::tensor(std::vector<int64_t>(first, first + batch_size_), at::kLong);
      Batch batch;
      batch.images = data_.normalized(index);
      batch.labels = data_.labels.index_select(0, index);
      if (device_.is_cuda()) {
        batch.images = batch.images.pin_memory().to(device_, /*non_blocking=*/true);
        batch.labels = batch.labels.pin_memory().to(device_, /*non_blocking=*/true);
      }
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stop_ || queue_.size() < prefetch_; });
      if (stop_) return;
      queue_.push_back(std::move(batch));
      changed_.notify_all();
    }
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = e.what();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  done_ = true;
  changed_.notify_all();
}

bool BatchLoader::next(Batch& batch) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !queue_.empty() || done_; });
  if (!error_.empty()) throw Error("data loader: " + error_);
  if (queue_.empty()) return false;
  batch = std::move(queue_.front());
  queue_.pop_front();
  changed_.notify_all();
  return true;
}

}  // namespace dnas

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

int64_t batches_per_epoch(int64_t n, int64_t batch_size, int64_t ranks) {
  const int64_t per_rank = (n + ranks - 1) / ranks;
  return per_rank / batch_size;
}

std::vector<int64_t> epoch_order(std::vector<int64_t> split, uint64_t order_seed, int64_t ranks) {
  std::mt19937_64 rng(order_seed);
  std::shuffle(split.begin(), split.end(), rng);
  const size_t n = split.size(), padded = (n + static_cast<size_t>(ranks) - 1) / static_cast<size_t>(ranks) * ranks;
  for (size_t i = n; i < padded && n > 0; ++i) split.push_back(split[i - n]);
  return split;
}

std::vector<int64_t> shard_samples(const std::vector<int64_t>& order, int64_t batch_size, Shard shard) {
  std::vector<int64_t> out;
  const int64_t batches = batches_per_epoch(static_cast<int64_t>(order.size()), batch_size, shard.ranks);
  for (int64_t b = 0; b < batches; ++b) {
    const auto first = order.begin() + (b * shard.ranks + shard.rank) * batch_size;
    out.insert(out.end(), first, first + batch_size);
  }
  return out;
}

BatchLoader::BatchLoader(const Dataset& data, std::vector<int64_t> split, int64_t batch_size, uint64_t order_seed,
                         int64_t first_batch, c10::Device device, Shard shard, bool augment, size_t prefetch)
    : data_(data), batch_size_(batch_size), shard_(shard), augment_(augment), key_(order_seed),
      batches_(batches_per_epoch(static_cast<int64_t>(split.size()), batch_size, shard.ranks)),
      next_batch_(first_batch), device_(device), prefetch_(prefetch) {
  DNAS_CHECK(batch_size >= 2, "--batch-size: expected at least 2 (BatchNorm), got ", batch_size);
  DNAS_ASSERT(shard.ranks >= 1 && shard.rank >= 0 && shard.rank < shard.ranks, "data loader: shard ", shard.rank, " of ",
             shard.ranks);
  order_ = epoch_order(std::move(split), order_seed, shard.ranks);
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
      const std::vector<int64_t> index(first, first + batch_size_);
      const bool cuda = device_.is_cuda();
      Batch batch;
      batch.labels = data_.labels.index_select(0, at::tensor(index, at::kLong));
      if (cuda) {
        // uint8 travels to the device (a quarter of float's bytes) and is normalised there.
        const at::Tensor raw = data_.raw(index, key_, augment_, /*pinned=*/true).to(device_, /*non_blocking=*/true);
        batch.labels = batch.labels.pin_memory().to(device_, /*non_blocking=*/true);
        batch.images = data_.normalize(raw);
      } else if (data_.streamed()) {
        batch.images = data_.normalized_batch(index, key_, augment_, recycled_batch(batch_size_, data_.height()));
      } else {
        batch.images = data_.normalized_batch(index, key_, augment_);
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

at::Tensor BatchLoader::recycled_batch(int64_t batch_size, int64_t size) {
  // Reference counts are atomic: a tensor seen unshared cannot become shared again except
  // through this ring.
  for (const at::Tensor& t : spare_)
    if (t.use_count() == 1 && t.storage().use_count() == 1) return t;
  const at::Tensor fresh = at::empty({batch_size, 3, size, size}, at::kFloat);
  if (spare_.size() < prefetch_ + 3) spare_.push_back(fresh);
  return fresh;
}

bool BatchLoader::next(Batch& batch) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (queue_.empty() && !done_) {
    const auto start = std::chrono::steady_clock::now();
    changed_.wait(lock, [this] { return !queue_.empty() || done_; });
    waited_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  if (!error_.empty()) throw Error("data loader: " + error_);
  if (queue_.empty()) return false;
  batch = std::move(queue_.front());
  queue_.pop_front();
  changed_.notify_all();
  return true;
}

}  // namespace dnas

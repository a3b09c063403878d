// A fixed pool of threads for the loader's decoding. parallel_for(n, fn) runs fn(0..n-1) on the
// pool's threads and the caller's, and returns when all have run; several callers (the search's
// w and theta loaders) may share one pool at once. The first exception thrown by fn is rethrown
// to the caller after the other items finished or were skipped.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dnas {

class WorkerPool {
 public:
  // `threads` workers besides the callers (0 is allowed: callers do all the work).
  explicit WorkerPool(int64_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void parallel_for(int64_t n, const std::function<void(int64_t)>& fn);
  int64_t threads() const { return static_cast<int64_t>(workers_.size()); }

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace dnas

#include "data/worker_pool.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>

namespace dnas {

WorkerPool::WorkerPool(int64_t threads) {
  for (int64_t t = 0; t < threads; ++t) workers_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void WorkerPool::work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

void WorkerPool::parallel_for(int64_t n, const std::function<void(int64_t)>& fn) {
  if (n <= 0) return;
  // One shared job: every runner claims the next item until none is left; the caller returns when
  // all n items are done (helpers still queued behind another job then find nothing to claim).
  struct Job {
    std::atomic<int64_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mutex;
    std::condition_variable finished;
    int64_t done = 0;
    std::exception_ptr error;
  };
  auto job = std::make_shared<Job>();
  const std::function<void(int64_t)>* body = &fn;  // used only while items remain, i.e. before we return
  auto run = [job, n, body] {
    for (int64_t i; (i = job->next.fetch_add(1)) < n;) {
      if (!job->failed.load()) {
        try {
          (*body)(i);
        } catch (...) {
          std::lock_guard<std::mutex> lock(job->mutex);
          if (!job->error) job->error = std::current_exception();
          job->failed.store(true);  // the rest is skipped
        }
      }
      std::lock_guard<std::mutex> lock(job->mutex);
      if (++job->done == n) job->finished.notify_all();
    }
  };
  const int64_t helpers = std::min<int64_t>(threads(), n - 1);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int64_t h = 0; h < helpers; ++h) tasks_.push_back(run);
  }
  wake_.notify_all();
  run();  // the caller works too
  std::unique_lock<std::mutex> lock(job->mutex);
  job->finished.wait(lock, [&] { return job->done == n; });
  if (job->error) std::rethrow_exception(job->error);
}

}  // namespace dnas

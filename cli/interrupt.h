// Ctrl-C for long-running commands: while an InterruptScope lives, SIGINT only raises a flag that
// the training loops poll at step boundaries (they checkpoint and return); the previous handler
// comes back when the scope ends.
#pragma once

#include <atomic>
#include <csignal>

namespace dnas::cli {

class InterruptScope {
 public:
  InterruptScope() {
    flag().store(false);
    previous_ = std::signal(SIGINT, [](int) { flag().store(true); });
  }
  ~InterruptScope() { std::signal(SIGINT, previous_); }
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  const std::atomic<bool>* requested() const { return &flag(); }

 private:
  static std::atomic<bool>& flag() {
    static std::atomic<bool> interrupted{false};
    return interrupted;
  }
  void (*previous_)(int);
};

}  // namespace dnas::cli

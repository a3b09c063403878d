// A progress bar with rate and ETA on stderr. On a terminal it redraws one line in place; when
// stderr is not a terminal (CI, logs) it prints a plain line at most every few seconds.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace dnas::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, size_t total, bool enabled = true);
  ~ProgressBar();
  void update(size_t done, const std::string& detail = "");
  void finish();

 private:
  std::string label_;
  size_t total_;
  bool enabled_;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_print_;
};

std::string format_duration(double seconds);  // "1:05", "1:02:03"

}  // namespace dnas::cli

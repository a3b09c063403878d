#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace dnas::cli {

std::string format_duration(double seconds) {
  const long total = static_cast<long>(seconds + 0.5);
  char buffer[32];
  if (total >= 3600) std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  else std::snprintf(buffer, sizeof buffer, "%ld:%02ld", total / 60, total % 60);
  return buffer;
}

ProgressBar::ProgressBar(std::string label, size_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled && total > 0), tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_print_(start_) {}

ProgressBar::~ProgressBar() {
  if (!finished_ && enabled_ && tty_) std::fputc('\n', stderr);  // leave the partial bar readable
}

void ProgressBar::update(size_t done, const std::string& detail) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const bool last = done >= total_;
  if (!tty_ && !last && std::chrono::duration<double>(now - last_print_).count() < 5.0) return;
  last_print_ = now;
  const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(total_ - done) : 0.0;
  const int width = 24;
  const int filled = static_cast<int>(width * done / total_);
  std::string bar(filled, '#');
  bar += std::string(width - filled, '.');
  std::string tail = detail.size() > 48 ? detail.substr(0, 45) + "..." : detail;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s [%s] %zu/%zu  %s elapsed, ETA %s  %s", label_.c_str(), bar.c_str(), done, total_,
                 format_duration(elapsed).c_str(), format_duration(eta).c_str(), tail.c_str());
  } else {
    std::fprintf(stderr, "%s %zu/%zu (%s elapsed, ETA %s) %s\n", label_.c_str(), done, total_,
                 format_duration(elapsed).c_str(), format_duration(eta).c_str(), tail.c_str());
  }
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (enabled_ && tty_ && !finished_) std::fputc('\n', stderr);
  finished_ = true;
}

}  // namespace dnas::cli

#include "search/schedule.h"

#include <algorithm>
#include <cmath>

namespace dnas {

double run_progress(const SearchConfig& c, int64_t epoch, int64_t step, int64_t steps) {
  const double total = static_cast<double>(c.epochs * std::max<int64_t>(1, steps));
  if (total <= 1) return 1.0;
  const double at = static_cast<double>(epoch * steps + step);
  return std::clamp(at / (total - 1.0), 0.0, 1.0);
}

double temperature(const SearchConfig& c, int64_t epoch, int64_t step, int64_t steps) {
  if (c.schedule == "exp") return c.tau0 * std::pow(c.tau_decay, static_cast<double>(epoch));
  if (c.schedule == "linear")
    return c.epochs <= 1 ? c.tau0 : c.tau0 + (c.tau_min - c.tau0) * static_cast<double>(epoch) / (c.epochs - 1);
  return c.tau0 * std::pow(c.tau_min / c.tau0, run_progress(c, epoch, step, steps));
}

bool theta_trains(const SearchConfig& c, int64_t epoch, int64_t step, int64_t steps) {
  const double at = static_cast<double>(epoch) + static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, steps));
  return at >= c.resolved_warmup();
}

}  // namespace dnas

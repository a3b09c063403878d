#include "latency_lut/anchors.h"

#include <algorithm>
#include <cmath>

#include "latency_lut/rounds.h"

namespace dnas {

std::vector<AnchorPick> choose_anchors(const std::vector<std::string>& keys,
                                       const std::map<std::string, double>& stored_us, size_t count) {
  std::vector<AnchorPick> stored;
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto it = stored_us.find(keys[i]);
    if (it != stored_us.end() && std::isfinite(it->second) && it->second > 0) stored.push_back({i, it->second});
  }
  std::sort(stored.begin(), stored.end(), [&](const AnchorPick& a, const AnchorPick& b) {
    return a.stored_us != b.stored_us ? a.stored_us < b.stored_us : keys[a.index] < keys[b.index];
  });
  if (count == 0 || stored.empty()) return {};
  if (stored.size() <= count) return stored;
  std::vector<AnchorPick> out;
  for (size_t n = 0; n < count; ++n) {
    // Evenly over the order, both ends included; distinct because stored.size() > count.
    const size_t at = count == 1 ? 0 : (n * (stored.size() - 1) + (count - 1) / 2) / (count - 1);
    out.push_back(stored[at]);
  }
  return out;
}

AnchorScale anchor_scale(const std::vector<double>& stored_us, const std::vector<std::vector<RoundSamples>>& rounds,
                         double reference_us) {
  std::vector<double> ratios;
  for (size_t i = 0; i < stored_us.size() && i < rounds.size(); ++i) {
    const double now = combine_normalized_rounds(rounds[i], reference_us).median_us;
    if (now > 0 && std::isfinite(now) && stored_us[i] > 0) ratios.push_back(stored_us[i] / now);
  }
  AnchorScale out;
  if (ratios.empty()) return out;
  std::sort(ratios.begin(), ratios.end());
  out.anchors = ratios.size();
  out.scale = percentile_of_sorted(ratios, 0.5);
  out.min_ratio = ratios.front();
  out.max_ratio = ratios.back();
  return out;
}

}  // namespace dnas

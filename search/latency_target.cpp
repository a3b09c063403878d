#include "search/latency_target.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace dnas {

LatencyRange reachable_latency(const std::vector<std::vector<double>>& latency_us, double fixed_us) {
  LatencyRange range{fixed_us, fixed_us};
  for (const std::vector<double>& layer : latency_us) {
    range.min_us += *std::min_element(layer.begin(), layer.end());
    range.max_us += *std::max_element(layer.begin(), layer.end());
  }
  return range;
}

void check_target_reachable(double target_ms, const LatencyRange& range, const std::string& what) {
  const double t = target_ms * 1000.0;
  DNAS_CHECK(t >= range.min_us && t <= range.max_us, "--latency-target-ms ", target_ms, ": outside what ", what,
             " can reach (", range.min_us / 1000.0, " - ", range.max_us / 1000.0, " ms)");
}

double arch_latency_us(const std::vector<std::vector<double>>& latency_us, double fixed_us,
                       const std::vector<int64_t>& choice) {
  double total = fixed_us;
  for (size_t l = 0; l < latency_us.size(); ++l) total += latency_us[l][static_cast<size_t>(choice[l])];
  return total;
}

double dual_step(double lambda, double latency_us, double target_us, double lr, double bound) {
  return std::clamp(lambda + lr * (latency_us / target_us - 1.0), -bound, bound);
}

Projection project_onto_target(std::vector<int64_t> choice, const std::vector<std::vector<double>>& latency_us,
                               double fixed_us, const std::vector<std::vector<double>>& preference, double target_us) {
  Projection p;
  double latency = arch_latency_us(latency_us, fixed_us, choice);
  // Shrink: the cheapest loss of preference per microsecond saved, until it fits.
  while (latency > target_us) {
    double best_ratio = std::numeric_limits<double>::infinity();
    size_t best_layer = 0;
    int64_t best_candidate = -1;
    for (size_t l = 0; l < latency_us.size(); ++l) {
      const size_t current = static_cast<size_t>(choice[l]);
      for (size_t i = 0; i < latency_us[l].size(); ++i) {
        const double saved = latency_us[l][current] - latency_us[l][i];
        if (saved <= 0) continue;
        const double ratio = (preference[l][current] - preference[l][i]) / saved;
        if (ratio < best_ratio) best_ratio = ratio, best_layer = l, best_candidate = static_cast<int64_t>(i);
      }
    }
    if (best_candidate < 0) break;  // every layer at its cheapest
    latency += latency_us[best_layer][static_cast<size_t>(best_candidate)] -
               latency_us[best_layer][static_cast<size_t>(choice[best_layer])];
    choice[best_layer] = best_candidate;
    ++p.downgrades;
  }
  // Expand: the largest gain of preference per microsecond spent, while it still fits.
  for (;;) {
    double best_ratio = 0;
    size_t best_layer = 0;
    int64_t best_candidate = -1;
    for (size_t l = 0; l < latency_us.size(); ++l) {
      const size_t current = static_cast<size_t>(choice[l]);
      for (size_t i = 0; i < latency_us[l].size(); ++i) {
        const double gain = preference[l][i] - preference[l][current];
        const double cost = latency_us[l][i] - latency_us[l][current];
        if (gain <= 0 || latency + cost > target_us) continue;
        const double ratio = cost <= 0 ? std::numeric_limits<double>::infinity() : gain / cost;
        if (ratio > best_ratio) best_ratio = ratio, best_layer = l, best_candidate = static_cast<int64_t>(i);
      }
    }
    if (best_candidate < 0) break;
    latency += latency_us[best_layer][static_cast<size_t>(best_candidate)] -
               latency_us[best_layer][static_cast<size_t>(choice[best_layer])];
    choice[best_layer] = best_candidate;
    ++p.upgrades;
  }
  p.latency_us = arch_latency_us(latency_us, fixed_us, choice);  // summed afresh, not accumulated
  p.choice = std::move(choice);
  p.fits = p.latency_us <= target_us;
  return p;
}

Likeliest likeliest_within(const std::vector<std::vector<double>>& latency_us, double fixed_us,
                           const std::vector<std::vector<double>>& preference, double low_us, double high_us) {
  // Each layer's cheapest candidate is the floor it spends from, so the bins cover only the room
  // above the cheapest arch: [0, high - cheapest].
  const size_t layers = latency_us.size();
  std::vector<double> floor_us(layers);
  double cheapest = fixed_us;
  for (size_t l = 0; l < layers; ++l) {
    floor_us[l] = *std::min_element(latency_us[l].begin(), latency_us[l].end());
    cheapest += floor_us[l];
  }
  Likeliest out;
  const double room = high_us - cheapest;
  if (!(room >= 0)) return out;
  const double bin_us = std::max(0.1, room / 20000.0);
  const size_t bins = static_cast<size_t>(room / bin_us) + 1;
  constexpr double kNone = -std::numeric_limits<double>::infinity();
  std::vector<double> score(bins, kNone), spent(bins, 0);  // the best prefix per bin, its exact room used
  score[0] = 0;
  std::vector<std::vector<int32_t>> from(layers, std::vector<int32_t>(bins, -1));  // its previous bin
  std::vector<std::vector<int32_t>> picked(layers, std::vector<int32_t>(bins, -1));
  for (size_t l = 0; l < layers; ++l) {
    std::vector<double> next_score(bins, kNone), next_spent(bins, 0);
    for (size_t b = 0; b < bins; ++b) {
      if (score[b] == kNone) continue;
      for (size_t i = 0; i < latency_us[l].size(); ++i) {
        const double used = spent[b] + (latency_us[l][i] - floor_us[l]);
        if (used > room) continue;
        const size_t to = std::min(bins - 1, static_cast<size_t>(used / bin_us));
        const double s = score[b] + preference[l][i];
        if (s > next_score[to]) {
          next_score[to] = s;
          next_spent[to] = used;
          from[l][to] = static_cast<int32_t>(b);
          picked[l][to] = static_cast<int32_t>(i);
        }
      }
    }
    score.swap(next_score);
    spent.swap(next_spent);
  }
  size_t best = 0;
  for (size_t b = 0; b < bins; ++b) {
    const double latency = cheapest + spent[b];
    if (score[b] == kNone || latency < low_us || latency > high_us) continue;
    if (!out.found || score[b] > score[best]) best = b;
    out.found = true;
  }
  if (!out.found) return out;
  out.choice.assign(layers, 0);
  for (size_t l = layers, b = best; l-- > 0;) {
    out.choice[l] = picked[l][b];
    b = static_cast<size_t>(from[l][b]);
  }
  out.latency_us = arch_latency_us(latency_us, fixed_us, out.choice);
  return out;
}

}  // namespace dnas

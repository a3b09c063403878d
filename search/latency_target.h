// Latency targets, on the table's per-candidate latencies (an arch's latency is the sum of its
// layers' rows plus the fixed stem and head):
//   - the range a space can reach (its cheapest and its dearest arch), so that an impossible
//     target is refused up front;
//   - the dual multiplier of --target-loss dual: lambda <- clip(lambda + lr (LAT / T - 1), +-max)
//     after every theta step, with LAT the table latency of the current argmax arch, so the
//     pressure grows until the architecture the search would hand back lands on the target, and
//     turns round (pushing latency up) when it falls below;
//   - the greedy projection of --latency-constraint hard onto LAT <= T (TF-NAS's shrink, then
//     expand): first, while over the target, the downgrade that loses the least theta preference
//     (log-probability) per microsecond saved; then, while any upgrade still fits, the one that
//     gains the most preference per microsecond spent;
//   - the likeliest arch within a latency band (the derivation's "likeliest" candidate): the
//     multiple-choice knapsack max sum of preference s.t. low <= LAT <= high, solved exactly by
//     dynamic programming over the latency spent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace dnas {

struct LatencyRange {
  double min_us = 0, max_us = 0;
};

// `latency_us[l][i]`: candidate i of searchable layer l; `fixed_us`: stem + head.
LatencyRange reachable_latency(const std::vector<std::vector<double>>& latency_us, double fixed_us);

// Throws dnas::Error "--latency-target-ms T: outside what <what> can reach (A - B ms)".
void check_target_reachable(double target_ms, const LatencyRange& range, const std::string& what);

double arch_latency_us(const std::vector<std::vector<double>>& latency_us, double fixed_us,
                       const std::vector<int64_t>& choice);

// One dual-ascent step of the multiplier (see the top of this file).
double dual_step(double lambda, double latency_us, double target_us, double lr, double bound);

struct Projection {
  std::vector<int64_t> choice;
  double latency_us = 0;
  bool fits = false;  // false only when even the cheapest arch is over the target
  int64_t downgrades = 0, upgrades = 0;
};

// Projects `choice` onto LAT <= target_us. `preference[l][i]` is how much candidate i of layer l is
// wanted (the search passes log softmax(theta)).
Projection project_onto_target(std::vector<int64_t> choice, const std::vector<std::vector<double>>& latency_us,
                               double fixed_us, const std::vector<std::vector<double>>& preference, double target_us);

struct Likeliest {
  std::vector<int64_t> choice;
  double latency_us = 0;
  bool found = false;  // false when no arch of the space lies in [low_us, high_us]
};

// The arch with the largest summed `preference` (see project_onto_target) whose latency lies in
// [low_us, high_us]. Dynamic programming over the latency spent, in bins of max(0.1 us, band top /
// 20,000) that keep each bin's best prefix with its exact latency: exact except that an arch within
// (layers x bin) of the band's edges may be missed for a likelier one just outside them.
Likeliest likeliest_within(const std::vector<std::vector<double>>& latency_us, double fixed_us,
                           const std::vector<std::vector<double>>& preference, double low_us, double high_us);

}  // namespace dnas

#include "latency_lut/rounds.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <thread>

#include "common/error.h"

namespace dnas {
namespace {

constexpr int kBaselineReadings = 5;

double median_of(std::vector<double> values) { 
  std::sort(values.begin(), values.end());
  return percentile_of_sorted(values, 0.5);
}

}  // namespace

std::vector<size_t> round_order(size_t n, uint64_t seed, int64_t round) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(round),
                    static_cast<uint32_t>(static_cast<uint64_t>(round) >> 32)};
  std::mt19937_64 rng(seq);
  // Fisher-Yates with our own draws: std::shuffle's sequence differs between standard libraries.
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[static_cast<size_t>(rng() % i)]);
  return order;
}

double percentile_of_sorted(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double position = p * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - static_cast<double>(below));
}

TimingStats summarize_samples(std::vector<double> samples) {
  TimingStats stats;
  stats.repeats = static_cast<int64_t>(samples.size());
  if (samples.empty()) return stats;
  std::sort(samples.begin(), samples.end());
  stats.median_us = percentile_of_sorted(samples, 0.5);
  stats.p10_us = percentile_of_sorted(samples, 0.1);
  stats.p90_us = percentile_of_sorted(samples, 0.9);
  stats.mean_us = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  double sum_sq = 0;
  for (double s : samples) sum_sq += (s - stats.mean_us) * (s - stats.mean_us);
  stats.std_us = samples.size() > 1 ? std::sqrt(sum_sq / static_cast<double>(samples.size() - 1)) : 0.0;
  return stats;
}

TimingStats combine_rounds(const std::vector<std::vector<double>>& rounds) {
  std::vector<double> pooled, round_lows;
  for (std::vector<double> samples : rounds) {
    if (samples.empty()) continue;
    pooled.insert(pooled.end(), samples.begin(), samples.end());
    std::sort(samples.begin(), samples.end());
    round_lows.push_back(percentile_of_sorted(samples, kRoundPercentile));
  }
  TimingStats stats = summarize_samples(pooled);
  stats.rounds = static_cast<int64_t>(round_lows.size());
  if (round_lows.empty()) return stats;
  stats.median_us = median_of(round_lows);
  stats.p10_us = std::min(stats.p10_us, stats.median_us);
  stats.p90_us = std::max(stats.p90_us, stats.median_us);
  return stats;
}

TimingStats combine_normalized_rounds(const std::vector<RoundSamples>& rounds, double reference_us) {
  std::vector<std::vector<double>> scaled;
  for (const RoundSamples& round : rounds) {
    const double factor = reference_us > 0 && round.canary_us > 0 ? reference_us / round.canary_us : 1.0;
    std::vector<double> samples = round.samples_us;
    for (double& us : samples) us *= factor;
    scaled.push_back(std::move(samples));
  }
  return combine_rounds(scaled);
}

double canary_reference_from(std::vector<double> readings_us) {
  DNAS_CHECK(!readings_us.empty(), "canary reference: no readings");
  std::sort(readings_us.begin(), readings_us.end());
  return percentile_of_sorted(readings_us, kCanaryBaselinePercentile);
}

CanaryReport run_rounds(const std::vector<int64_t>& rounds_needed, const RoundsOptions& options,
                        const RoundsHooks& hooks) {
  const auto sleep = hooks.sleep ? hooks.sleep : [](double seconds) {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  };
  CanaryReport report;
  std::vector<double> readings;  // sorted
  auto read_canary = [&] {
    const double us = hooks.time_canary();
    readings.insert(std::upper_bound(readings.begin(), readings.end(), us), us);
    report.baseline_us = percentile_of_sorted(readings, kCanaryBaselinePercentile);
    return us;
  };
  auto slow = [&](double canary_us) { return canary_us > (1 + options.canary_threshold) * report.baseline_us; };

  const int64_t most = rounds_needed.empty() ? 0 : *std::max_element(rounds_needed.begin(), rounds_needed.end());
  if (most <= 0) return report;
  int64_t item_rounds = 0;
  for (int64_t needed : rounds_needed) item_rounds += std::min(std::max<int64_t>(needed, 0), options.rounds);
  report.retry_budget = static_cast<int64_t>(std::ceil(options.retry_budget * static_cast<double>(item_rounds)));
  auto budget_left = [&] { return report.remeasured < report.retry_budget; };
  double before = 0;
  for (int i = 0; i < kBaselineReadings; ++i) before = read_canary();
  // Times `kept` until the canary before and after it reads within the threshold, at most
  // max_retries + 1 times; false when it never did (`kept` holds the last attempt).
  auto time_until_settled = [&](ItemRound& kept) {
    for (int64_t tries = 1;; ++tries) {
      kept.samples = hooks.time_item(kept.item);
      kept.canary_us = read_canary();
      ++kept.attempts;
      const bool spoiled = slow(before) || slow(kept.canary_us);
      before = kept.canary_us;
      if (!spoiled) return true;
      if (tries > options.max_retries || !budget_left()) return false;
      ++report.remeasured;
      sleep(options.backoff_s * std::pow(3.0, static_cast<double>(tries - 1)));
      before = read_canary();
    }
  };
  auto keep = [&](ItemRound& kept, bool settled) {
    kept.settled = settled;
    if (!settled) ++report.unsettled;
    ++report.item_rounds;
    hooks.keep(kept);
  };
  std::vector<ItemRound> deferred;  // still spoiled after their retries: timed again after the last round
  for (int64_t round = 0; round < std::min(most, options.rounds); ++round) {
    for (size_t item : round_order(rounds_needed.size(), options.seed, round)) {
      if (rounds_needed[item] <= round) continue;
      ItemRound kept{item, round, {}, 0, 0, true};
      const bool settled = time_until_settled(kept);
      if (settled || !budget_left())
        keep(kept, settled);
      else
        deferred.push_back(std::move(kept));
    }
  }
  // The make-up pass: a slow spell outlasts a few short back-offs, but by the end of the schedule
  // it has usually passed.
  if (!deferred.empty()) before = read_canary();
  for (ItemRound& kept : deferred) {
    if (!budget_left()) {
      keep(kept, false);
      continue;
    }
    ++report.remeasured;
    keep(kept, time_until_settled(kept));
  }
  std::vector<double> drifts;
  for (double us : readings) drifts.push_back(us / report.baseline_us - 1);
  report.median_drift = median_of(drifts);
  report.max_drift = *std::max_element(drifts.begin(), drifts.end());
  return report;
}

}  // namespace dnas

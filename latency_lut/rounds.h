// Timing in interleaved rounds with a drift canary: the schedule that makes a latency table hold on
// a shared or throttling machine. Torch-free: the caller supplies how to time an item and the
// canary, so the schedule is tested with scripted timings.
//
// Rounds: each round times every item that still needs rounds once (warm-up + a burst of timed
// iterations), in a seeded random order of its own, so a slow spell of a few seconds spoils one
// round of many items instead of every repeat of the few timed during it.
//
// Estimator: each round's burst is summarised by its low percentile (kRoundPercentile: spikes
// from interrupts only ever add time), and the item's latency is the median of those over rounds
// (a spell that spoils a minority of rounds moves it little). p10 / p90 / mean / std come from all
// rounds' samples pooled, so a row keeps its spread.
//
// Canary: a fixed reference kernel timed after every item-round. Its baseline is a low percentile
// (kCanaryBaselinePercentile) of the canary readings so far: a machine is never faster than it can
// be, but the single fastest reading can be a freak (seen here: 59 us against 83 us or more for
// the 2,700 others of one validation) that makes every later reading look slow, so that every
// item-round is retried to the limit and the run is marked noisy. An item-round whose canary
// before or after it read more than `canary_threshold` above the baseline was timed while the
// machine was slow, so it is timed again, after a short back-off, up to `max_retries` times. One
// still spoiled then is deferred to a make-up pass after the last round (a slow spell outlasts the
// back-offs, but by the end of the schedule it has usually passed), where it gets max_retries + 1
// more attempts. An item-round that never settles keeps its last attempt and is counted as
// unsettled; a run with more than kNoisyFraction of its item-rounds unsettled is noisy. Re-measures
// are bounded by a budget (retry_budget x the schedule's item-rounds): on a machine that stays
// slow, retries and back-offs once took a profile 8x its quiet time (240 s against 30 s here); once
// the budget is spent, a spoiled item-round is kept as it is and counted unsettled, so the run
// ends in bounded time and says it was noisy.
//
// Canary normalization: a machine's speed drifts by more than retries can wait out (this VM runs
// 5-10% slower for minutes at a time, a phone or a Jetson throttles for good), and the canary
// follows it. So every round's samples are scaled by reference / (the canary after the round)
// before they are combined, where the reference is one fixed canary time per table, target and
// setting (fixed by the first profile from kReferenceReadings readings after a warm-up, as the
// baseline is, and kept in its run's conditions): rows profiled at different times, and networks validated later, are then all in
// the units of that first run's machine speed. Without a reference (0) samples are used as timed.
// Across machine states the canary does not move as the blocks do; a later run takes its unit from
// the table's own rows instead, re-timed in its rounds (anchors.h), on top of this.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "latency_lut/lut_store.h"

namespace dnas {

inline constexpr double kRoundPercentile = 0.2;
inline constexpr double kNoisyFraction = 0.05;
inline constexpr double kCanaryBaselinePercentile = 0.05;
inline constexpr int kReferenceReadings = 40;  // after as many untimed warm-up readings as kReferenceWarmup
inline constexpr int kReferenceWarmup = 5;

struct RoundsOptions {
  int64_t rounds = 8;
  uint64_t seed = 0;
  double canary_threshold = 0.10;  // relative slow-down of the canary that spoils an item-round
  int64_t max_retries = 3;
  double retry_budget = 0.5;       // re-measures at most, as a fraction of the schedule's item-rounds
  double backoff_s = 0.02;         // sleep before retry k: backoff_s * 3^(k-1)
};

// The order of `n` items in round `round`: a permutation of 0..n-1 from (seed, round).
std::vector<size_t> round_order(size_t n, uint64_t seed, int64_t round);

// p-th percentile (0..1) of sorted samples, linearly interpolated; 0 for none.
double percentile_of_sorted(const std::vector<double>& sorted, double p);
// Median / p10 / p90 / mean / std of one burst of samples (microseconds).
TimingStats summarize_samples(std::vector<double> samples_us);
// The stored statistics of an item timed in several rounds (see the estimator above); `rounds`
// holds each round's samples. median_us is the median over rounds of each round's
// kRoundPercentile; p10 <= median <= p90 always holds.
TimingStats combine_rounds(const std::vector<std::vector<double>>& rounds);
// combine_rounds over canary-normalized rounds: each round's samples times reference_us / its
// canary_us; reference_us <= 0, or a round without a canary reading, leaves samples as timed.
TimingStats combine_normalized_rounds(const std::vector<RoundSamples>& rounds, double reference_us);
// The reference a table's first profile fixes from kReferenceReadings canary readings: their
// kCanaryBaselinePercentile, like the baseline (so one freak reading does not set it).
double canary_reference_from(std::vector<double> readings_us);

struct ItemRound {
  size_t item = 0;
  int64_t round = 0;            // 0-based among this schedule's rounds
  std::vector<double> samples;  // the kept attempt's timed iterations, microseconds
  double canary_us = 0;         // the canary right after the kept attempt
  int64_t attempts = 1;
  bool settled = true;          // false: still spoiled after its retries and the make-up pass's
};

struct CanaryReport {
  double baseline_us = 0;       // kCanaryBaselinePercentile of all canary readings
  double median_drift = 0;      // median of canary / baseline - 1 over all readings
  double max_drift = 0;
  int64_t item_rounds = 0;      // kept item-rounds
  int64_t remeasured = 0;       // extra attempts made because the canary was off
  int64_t retry_budget = 0;     // re-measures allowed (RoundsOptions::retry_budget x item-rounds)
  int64_t unsettled = 0;
  bool budget_spent() const { return remeasured >= retry_budget && unsettled > 0; }
  bool noisy() const { return item_rounds > 0 && unsettled > kNoisyFraction * static_cast<double>(item_rounds); }
  double unsettled_fraction() const {
    return item_rounds > 0 ? static_cast<double>(unsettled) / static_cast<double>(item_rounds) : 0.0;
  }
};

struct RoundsHooks {
  std::function<std::vector<double>(size_t item)> time_item;  // warm-up + timed burst
  std::function<double()> time_canary;                        // one canary reading, microseconds
  std::function<void(const ItemRound&)> keep;                 // every kept item-round, in order
  std::function<void(double seconds)> sleep;                  // default: std::this_thread::sleep_for
};

// Runs the schedule: item i takes part in the first `rounds_needed[i]` rounds (at most
// options.rounds); every round visits its items in round_order. Calls `keep` once per item-round:
// in schedule order, except that deferred item-rounds are kept after the last round.
CanaryReport run_rounds(const std::vector<int64_t>& rounds_needed, const RoundsOptions& options,
                        const RoundsHooks& hooks);

}  // namespace dnas

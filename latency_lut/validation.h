// `lut validate`: how well summed table rows predict whole networks on this machine. Samples
// random architectures from a space, predicts each as the sum of its blocks' table latencies,
// measures each end to end with the profiler's discipline (interleaved rounds with the drift
// canary and the same estimator, rounds.h), and reports the median absolute percentage error, the
// max error and Kendall's tau-b between predicted and measured, beside its own noise floor: each
// arch's latency from its even rounds against its odd rounds (the median relative difference over
// archs), so a user can tell table error from machine noise. Each round is normalized to the
// table's canary reference (rounds.h) when it has one, as its rows were, scaled into the table's
// units by a few of its own rows re-timed in the same rounds (anchors.h). A linear
// correction (measured = scale * predicted + offset) is fitted on all archs; its error is reported
// 2-fold cross-validated (fit on one half, scored on the other), so it is not flattered.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "latency_lut/anchors.h"
#include "latency_lut/latency_table.h"
#include "latency_lut/profiler.h"
#include "latency_lut/rounds.h"
#include "latency_lut/timing.h"
#include "supernet/space_spec.h"

namespace dnas {

struct ArchValidation {
  std::vector<std::string> choices;
  double predicted_us = 0;
  double measured_us = 0;
  double even_us = 0, odd_us = 0;  // from its even / odd rounds
  std::vector<ItemRound> rounds;   // every kept round, in the order kept
  double corrected_us = 0;  // cross-validated prediction
};

struct ErrorStats {
  double mape = 0;        // median absolute percentage error, as a fraction
  double max_error = 0;   // as a fraction
  double kendall_tau = 0;
};

struct ValidationReport {
  std::vector<ArchValidation> archs;
  ErrorStats raw, corrected;
  double scale = 1, offset_us = 0;  // fitted on all archs
  bool estimated = false;           // predictions used estimated rows
  double noise_floor = 0;           // median |even - odd| / measured over archs, as a fraction
  double canary_reference_us = 0;   // what the measurements are normalized to; 0: as timed
  double table_reference_us = 0;    // the table's; canary_reference_us is it x anchors.scale
  AnchorScale anchors;              // anchors.anchors == 0: none re-timed
  CanaryReport canary;
};

// Stored rows to re-time among the networks (anchors.h), with the timing of a profile (the
// estimator's figure depends on the burst it summarizes: time them as their rows were).
struct ValidationAnchors {
  StoredAnchors rows;
  TimingOptions timing;
};

ErrorStats error_stats(const std::vector<double>& predicted, const std::vector<double>& measured);
double kendall_tau_b(const std::vector<double>& a, const std::vector<double>& b);
// Least squares y = scale * x + offset.
std::pair<double, double> fit_linear(const std::vector<double>& x, const std::vector<double>& y);

// `timing` is per round; `rounds.rounds` must be at least 2 (the noise floor needs two);
// `canary_reference_us` is the table's (LutStore::canary_reference), 0 for none (then `anchors`
// are not timed); `anchors.rows` may be empty. `progress` counts the anchors' rounds too.
ValidationReport validate_table(const LatencyTable& table, const SearchSpace& space, size_t archs, uint64_t seed,
                                const TimingOptions& timing, const RoundsOptions& rounds, double canary_reference_us,
                                const ValidationAnchors& anchors,
                                const std::function<void(size_t done, size_t total)>& progress = {});

}  // namespace dnas

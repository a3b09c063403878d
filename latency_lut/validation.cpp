#include "latency_lut/validation.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "latency_lut/profiler.h"
#include "supernet/network.h"
#include "common/error.h"

namespace dnas {

double kendall_tau_b(const std::vector<double>& a, const std::vector<double>& b) {
  int64_t concordant = 0, discordant = 0, ties_a = 0, ties_b = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = i + 1; j < a.size(); ++j) {
      const double da = a[i] - a[j], db = b[i] - b[j];
      if (da == 0 && db == 0) continue;
      if (da == 0) ++ties_a;
      else if (db == 0) ++ties_b;
      else if ((da > 0) == (db > 0)) ++concordant;
      else ++discordant;
    }
  }
  const double n1 = static_cast<double>(concordant + discordant + ties_a);
  const double n2 = static_cast<double>(concordant + discordant + ties_b);
  return n1 > 0 && n2 > 0 ? static_cast<double>(concordant - discordant) / std::sqrt(n1 * n2) : 0.0;
}

ErrorStats error_stats(const std::vector<double>& predicted, const std::vector<double>& measured) {
  ErrorStats stats;
  std::vector<double> errors;
  for (size_t i = 0; i < predicted.size(); ++i) errors.push_back(std::abs(predicted[i] - measured[i]) / measured[i]);
  if (errors.empty()) return stats;
  std::sort(errors.begin(), errors.end());
  const size_t n = errors.size();
  stats.mape = n % 2 ? errors[n / 2] : 0.5 * (errors[n / 2 - 1] + errors[n / 2]);
  stats.max_error = errors.back();
  stats.kendall_tau = kendall_tau_b(predicted, measured);
  return stats;
}

std::pair<double, double> fit_linear(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sx += x[i];
    sy += y[i];
    sxx += x[i] * x[i];
    sxy += x[i] * y[i];
  }
  const double denominator = n * sxx - sx * sx;
  if (x.size() < 2 || denominator == 0) return {sx > 0 ? sy / sx : 1.0, 0.0};  // pure scale
  const double scale = (n * sxy - sx * sy) / denominator;
  return {scale, (sy - scale * sx) / n};
}

ValidationReport validate_table(const LatencyTable& table, const SearchSpace& space, size_t archs, uint64_t seed,
                                const TimingOptions& timing, const RoundsOptions& rounds, double canary_reference_us,
                                const ValidationAnchors& anchors, const std::function<void(size_t, size_t)>& progress) {
  DNAS_CHECK(archs >= 4, "--archs: expected at least 4 architectures, got ", archs);
  DNAS_CHECK(rounds.rounds >= 2, "--rounds: expected at least 2 (the noise floor compares rounds), got ",
             rounds.rounds);
  const std::vector<SearchableLayer> layers = space.searchable_layers();
  std::mt19937_64 rng(seed);
  ValidationReport report;
  report.table_reference_us = canary_reference_us;
  std::vector<std::unique_ptr<PreparedForward>> forwards;
  for (size_t a = 0; a < archs; ++a) {
    ArchValidation v;
    for (const SearchableLayer& l : layers) {
      std::uniform_int_distribution<size_t> pick(0, l.candidates.size() - 1);
      v.choices.push_back(l.candidates[pick(rng)]);
    }
    const ArchSpec arch = space.derive(v.choices);
    const ArchLatency predicted = table.for_arch(resolve_arch(arch), space.name);
    report.estimated = report.estimated || predicted.any_estimated;
    v.predicted_us = predicted.total_us();
    report.archs.push_back(std::move(v));
    Network net(arch, std::nullopt);
    const FeatureShape& in = net->resolved().input;
    forwards.push_back(std::make_unique<PreparedForward>(
        *net, [net](torch::Tensor x) mutable { return net->forward(x); }, in.channels, in.height, in.width, timing));
  }
  // Items 0..archs-1 are the networks, then the anchors, in the same rounds (anchors.h).
  const std::vector<BlockToTime>& anchor_blocks =
      canary_reference_us > 0 ? anchors.rows.blocks : std::vector<BlockToTime>{};
  for (const BlockToTime& block : anchor_blocks) {
    TimedBlock built = build_for_timing(block, anchors.timing);
    forwards.push_back(std::move(built.forward));
  }
  std::vector<std::vector<RoundSamples>> anchor_rounds(anchor_blocks.size());
  const size_t total = (archs + anchor_blocks.size()) * static_cast<size_t>(rounds.rounds);
  size_t done = 0;
  RoundsHooks hooks;
  hooks.time_item = [&](size_t i) {
    return time_callable([&] { forwards[i]->run(); }, i < archs ? timing : anchors.timing);
  };
  CanaryKernel canary(timing);
  hooks.time_canary = [&] { return canary.read(); };
  hooks.keep = [&](const ItemRound& r) {
    if (r.item < archs)
      report.archs[r.item].rounds.push_back(r);
    else
      anchor_rounds[r.item - archs].push_back({r.samples, r.canary_us});
    if (progress) progress(++done, total);
  };
  report.canary = run_rounds(std::vector<int64_t>(archs + anchor_blocks.size(), rounds.rounds), rounds, hooks);
  report.canary_reference_us = canary_reference_us;
  if (!anchor_blocks.empty()) {
    report.anchors = anchor_scale(anchors.rows.stored_us, anchor_rounds, canary_reference_us);
    report.canary_reference_us = canary_reference_us * report.anchors.scale;
  }
  std::vector<double> noise;
  for (size_t a = 0; a < archs; ++a) {
    ArchValidation& v = report.archs[a];
    std::vector<RoundSamples> all, even, odd;
    for (size_t r = 0; r < v.rounds.size(); ++r) {
      all.push_back({v.rounds[r].samples, v.rounds[r].canary_us});
      (r % 2 ? odd : even).push_back(all.back());
    }
    v.measured_us = combine_normalized_rounds(all, report.canary_reference_us).median_us;
    v.even_us = combine_normalized_rounds(even, report.canary_reference_us).median_us;
    v.odd_us = combine_normalized_rounds(odd, report.canary_reference_us).median_us;
    noise.push_back(std::abs(v.even_us - v.odd_us) / v.measured_us);
  }
  std::sort(noise.begin(), noise.end());
  report.noise_floor = percentile_of_sorted(noise, 0.5);
  std::vector<double> predicted, measured;
  for (const ArchValidation& v : report.archs) {
    predicted.push_back(v.predicted_us);
    measured.push_back(v.measured_us);
  }
  report.raw = error_stats(predicted, measured);
  std::tie(report.scale, report.offset_us) = fit_linear(predicted, measured);
  // 2-fold cross-validation: each half is corrected by the fit on the other half.
  for (int fold = 0; fold < 2; ++fold) {
    std::vector<double> x, y;
    for (size_t i = 0; i < archs; ++i)
      if (static_cast<int>(i % 2) != fold) {
        x.push_back(predicted[i]);
        y.push_back(measured[i]);
      }
    const auto [scale, offset] = fit_linear(x, y);
    for (size_t i = fold; i < archs; i += 2) report.archs[i].corrected_us = scale * predicted[i] + offset;
  }
  std::vector<double> corrected;
  for (const ArchValidation& v : report.archs) corrected.push_back(v.corrected_us);
  report.corrected = error_stats(corrected, measured);
  return report;
}

}  // namespace dnas

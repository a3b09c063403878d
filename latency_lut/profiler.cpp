#include "latency_lut/profiler.h"

#include <ATen/Parallel.h>
#include <torch/nn/modules/container/any.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "common/json.h"
#include "common/version.h"
#include "latency_lut/host_conditions.h"
#include "ops/block_module.h"
#include "supernet/network.h"

namespace dnas {

size_t ProfilePlan::block_rounds(int64_t rounds) const {
  size_t total = anchors.blocks.size() * static_cast<size_t>(std::max<int64_t>(0, rounds));
  for (const auto& done : rounds_done) total += static_cast<size_t>(std::max<int64_t>(0, rounds - static_cast<int64_t>(done.size())));
  return total;
}

ProfilePlan plan_profile(const LutStore& store, const TargetSpec& target, const std::vector<BlockToTime>& blocks,
                         const ProfileOptions& options) {
  const int threads = at::get_num_threads();
  const std::set<std::string> done = store.keys_measured_with(target.name, threads, options.timing.device);
  const auto partial = store.rounds_measured_with(target.name, threads, options.timing.device);
  ProfilePlan plan;
  for (const BlockToTime& block : blocks) {
    if (done.count(block.key.str())) {
      ++plan.already_measured;
      continue;
    }
    plan.pending.push_back(block);
    const auto it = partial.find(block.key.str());
    plan.rounds_done.push_back(it == partial.end() ? std::vector<RoundSamples>{} : it->second);
  }
  if (!plan.pending.empty() && options.normalize)
    plan.anchors = stored_anchors(store, target, blocks, options.timing, options.anchors);
  return plan;
}

StoredAnchors stored_anchors(const LutStore& store, const TargetSpec& target, const std::vector<BlockToTime>& blocks,
                             const TimingOptions& timing, size_t count) {
  const int threads = at::get_num_threads();
  StoredAnchors out;
  if (count == 0 || !store.canary_reference(target.name, threads, timing.device, timing.settings)) return out;
  const std::set<std::string> done = store.keys_measured_with(target.name, threads, timing.device);
  std::vector<const BlockToTime*> measured;
  std::vector<std::string> keys;
  for (const BlockToTime& block : blocks)
    if (done.count(block.key.str())) {
      measured.push_back(&block);
      keys.push_back(block.key.str());
    }
  for (const AnchorPick& pick : choose_anchors(keys, store.medians(target.name, timing.settings), count)) {
    out.blocks.push_back(*measured[pick.index]);
    out.stored_us.push_back(pick.stored_us);
  }
  return out;
}

TimedBlock build_for_timing(const BlockToTime& block, const TimingOptions& timing) {
  TimedBlock out{make_block(*block.op, block.args), nullptr};
  torch::nn::AnyModule module = out.module;
  const FeatureShape& in = block.args.input;
  out.forward = std::make_unique<PreparedForward>(
      *module.ptr(), [module](torch::Tensor x) mutable { return module.forward(x); }, in.channels, in.height,
      in.width, timing);
  return out;
}

Json anchors_json(const AnchorScale& anchors, double table_reference_us) {
  return {{"count", anchors.anchors}, {"scale", anchors.scale}, {"min_ratio", anchors.min_ratio},
          {"max_ratio", anchors.max_ratio}, {"table_reference_us", table_reference_us}};
}

Json canary_json(const CanaryReport& c, double threshold, const ProfileSummary& summary) {
  Json out = {{"reference_us", summary.canary_reference_us}, {"baseline_us", c.baseline_us},
              {"median_drift", c.median_drift}, {"max_drift", c.max_drift}, {"threshold", threshold},
              {"block_rounds", c.item_rounds}, {"remeasured", c.remeasured}, {"retry_budget", c.retry_budget},
              {"unsettled", c.unsettled}};
  if (summary.anchors.anchors > 0) out["anchors"] = anchors_json(summary.anchors, summary.table_reference_us);
  return out;
}

ProfileSummary run_profile(LutStore& store, const TargetSpec& target, const ProfilePlan& plan,
                           const ProfileOptions& options, const ProfileObserver& observer) {
  ProfileSummary summary;
  summary.skipped = plan.already_measured;
  if (plan.pending.empty()) return summary;
  const auto start = std::chrono::steady_clock::now();
  store.ensure_target(target.name, target.device);

  const HostInfo host = describe_host(options.timing.device);
  RunRecord run;
  run.target = target.name;
  run.host = host.host;
  run.started_at = utc_now();
  run.libtorch_version = host.libtorch_version;
  run.cuda_version = host.cuda_version;
  run.device = options.timing.device;
  run.device_name = host.device_name;
  run.threads = host.threads;
  run.settings = options.timing.settings;
  run.warmup = options.timing.warmup;
  run.repeats = options.timing.repeats;
  run.rounds = options.rounds.rounds;
  run.build_commit = dnas_build_commit();
  run.dnas_version = dnas_version();
  run.space = options.space;
  run.command = options.command;
  summary.run_id = store.add_run(run);

  // Items 0..P-1 are the pending blocks, P.. the anchors, interleaved in the same rounds so that
  // both see the same machine; an anchor's rounds are kept here only.
  const size_t pending = plan.pending.size();
  std::vector<TimedBlock> built;
  std::vector<int64_t> rounds_needed;
  for (size_t i = 0; i < pending; ++i) {
    built.push_back(build_for_timing(plan.pending[i], options.timing));
    rounds_needed.push_back(std::max<int64_t>(0, options.rounds.rounds - static_cast<int64_t>(plan.rounds_done[i].size())));
  }
  CanaryKernel canary(options.timing);
  // As timed: reference 0, recorded as such (not a reference for later runs).
  const std::optional<double> reference =
      options.normalize
          ? store.canary_reference(target.name, host.threads, options.timing.device, options.timing.settings)
          : std::optional<double>(0.0);
  if (reference) {
    summary.table_reference_us = *reference;
  } else {
    for (int i = 0; i < kReferenceWarmup; ++i) canary.read();
    std::vector<double> readings;
    for (int i = 0; i < kReferenceReadings; ++i) readings.push_back(canary.read());
    summary.table_reference_us = canary_reference_from(readings);
    summary.new_reference = true;
  }
  const bool anchored = !plan.anchors.blocks.empty() && !summary.new_reference && summary.table_reference_us > 0;
  if (anchored)
    for (const BlockToTime& anchor : plan.anchors.blocks) {
      built.push_back(build_for_timing(anchor, options.timing));
      rounds_needed.push_back(options.rounds.rounds);
    }
  std::vector<std::vector<RoundSamples>> rounds = plan.rounds_done;
  std::vector<std::vector<RoundSamples>> anchor_rounds(anchored ? plan.anchors.blocks.size() : 0);
  const size_t total = plan.block_rounds(options.rounds.rounds);
  size_t done = anchored ? 0 : plan.anchors.blocks.size() * static_cast<size_t>(std::max<int64_t>(0, options.rounds.rounds));
  RoundsHooks hooks;
  hooks.time_item = [&](size_t i) { return time_callable([&] { built[i].forward->run(); }, options.timing); };
  hooks.time_canary = [&] { return canary.read(); };
  hooks.keep = [&](const ItemRound& r) {
    if (r.item >= pending) {
      anchor_rounds[r.item - pending].push_back({r.samples, r.canary_us});
      if (observer) observer({++done, total, &plan.anchors.blocks[r.item - pending], r.round, /*anchor=*/true, r.settled});
      return;
    }
    const BlockToTime& block = plan.pending[r.item];
    rounds[r.item].push_back({r.samples, r.canary_us});
    const RoundRow row{target.name, block.key.str(), summary.run_id, static_cast<int64_t>(rounds[r.item].size()) - 1,
                       r.samples, r.canary_us, r.attempts, r.settled};
    store.put_round(row, std::nullopt);  // the row itself once every round is in: its unit needs the anchors'
    if (observer) observer({++done, total, &block, row.round, /*anchor=*/false, r.settled});
  };
  // After building every block and the canary, while the CPU is busy: an idle CPU under a dynamic
  // governor reads a low frequency.
  const HostSnapshot conditions_at_start = read_host_snapshot();
  Json start_conditions = conditions_to_json(compare_snapshots(conditions_at_start, conditions_at_start));
  start_conditions["canary"] = {{"reference_us", summary.table_reference_us}};
  store.set_run_conditions(summary.run_id, start_conditions.dump());
  summary.canary = run_rounds(rounds_needed, options.rounds, hooks);
  summary.canary_reference_us = summary.table_reference_us;
  if (anchored) {
    summary.anchors = anchor_scale(plan.anchors.stored_us, anchor_rounds, summary.table_reference_us);
    summary.canary_reference_us = summary.table_reference_us * summary.anchors.scale;
  }
  // Every block with all its rounds (a resumed one may have had them all before this run) gets its
  // row, each in its own transaction: its rounds are stored already, so a kill loses no timing.
  for (size_t i = 0; i < pending; ++i) {
    if (static_cast<int64_t>(rounds[i].size()) < options.rounds.rounds) continue;
    store.put_measurement({target.name, plan.pending[i].key,
                           combine_normalized_rounds(rounds[i], summary.canary_reference_us), utc_now(),
                           summary.run_id});
    ++summary.measured;
  }

  Json conditions = conditions_to_json(compare_snapshots(conditions_at_start, read_host_snapshot()));
  conditions["canary"] = canary_json(summary.canary, options.rounds.canary_threshold, summary);
  conditions["noisy"] = summary.canary.noisy();
  summary.conditions = conditions.dump();
  store.set_run_conditions(summary.run_id, summary.conditions);
  store.finish_run(summary.run_id, utc_now());
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

CanaryKernel::CanaryKernel(const TimingOptions& options) : options_(options) {
  options_.warmup = kCanaryWarmup;
  options_.repeats = 3;
  conv_ = torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 32, 3).padding(1).bias(false));
  forward_ = std::make_unique<PreparedForward>(*conv_, [this](torch::Tensor x) { return conv_->forward(x); }, 32, 28,
                                               28, options_);
}

double CanaryKernel::read() {
  const std::vector<double> samples = time_callable([&] { forward_->run(); }, options_);
  return *std::min_element(samples.begin(), samples.end());
}

TimingStats time_arch_end_to_end(const ArchSpec& arch, std::optional<int64_t> input_size,
                                 const TimingOptions& options, int64_t rounds) {
  AnchorScale none;
  return time_arch_beside_anchors(arch, input_size, options, rounds, {}, options, none);
}

TimingStats time_arch_beside_anchors(const ArchSpec& arch, std::optional<int64_t> input_size,
                                     const TimingOptions& options, int64_t rounds, const StoredAnchors& anchors,
                                     const TimingOptions& anchor_timing, AnchorScale& scale) {
  Network net(arch, input_size);
  const FeatureShape& in = net->resolved().input;
  const PreparedForward prepared(*net, [net](torch::Tensor x) mutable { return net->forward(x); }, in.channels,
                                 in.height, in.width, options);
  std::vector<TimedBlock> built;
  for (const BlockToTime& block : anchors.blocks) built.push_back(build_for_timing(block, anchor_timing));
  std::vector<std::vector<double>> bursts;
  std::vector<std::vector<RoundSamples>> anchor_rounds(built.size());
  for (int64_t r = 0; r < rounds; ++r) {
    bursts.push_back(time_callable([&] { prepared.run(); }, options));
    for (size_t a = 0; a < built.size(); ++a)
      anchor_rounds[a].push_back({time_callable([&] { built[a].forward->run(); }, anchor_timing), 0.0});
  }
  scale = anchor_scale(anchors.stored_us, anchor_rounds, /*reference_us=*/0.0);
  return combine_rounds(bursts);
}

}  // namespace dnas

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
  size_t total = 0;
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
  return plan;
}

Json canary_json(const CanaryReport& c, double threshold, double reference_us) {
  return {{"reference_us", reference_us}, {"baseline_us", c.baseline_us}, {"median_drift", c.median_drift},
          {"max_drift", c.max_drift}, {"threshold", threshold}, {"block_rounds", c.item_rounds},
          {"remeasured", c.remeasured}, {"retry_budget", c.retry_budget}, {"unsettled", c.unsettled}};
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

  // Every block is built once and kept: its rounds come back to the same module and input.
  std::vector<torch::nn::AnyModule> modules;
  std::vector<std::unique_ptr<PreparedForward>> forwards;
  std::vector<int64_t> rounds_needed;
  for (size_t i = 0; i < plan.pending.size(); ++i) {
    const BlockToTime& block = plan.pending[i];
    modules.push_back(make_block(*block.op, block.args));
    torch::nn::AnyModule& module = modules.back();
    const FeatureShape& in = block.args.input;
    forwards.push_back(std::make_unique<PreparedForward>(
        *module.ptr(), [module](torch::Tensor x) mutable { return module.forward(x); }, in.channels, in.height,
        in.width, options.timing));
    rounds_needed.push_back(std::max<int64_t>(0, options.rounds.rounds - static_cast<int64_t>(plan.rounds_done[i].size())));
  }
  CanaryKernel canary(options.timing);
  // As timed: reference 0, recorded as such (not a reference for later runs).
  const std::optional<double> reference =
      options.normalize
          ? store.canary_reference(target.name, host.threads, options.timing.device, options.timing.settings)
          : std::optional<double>(0.0);
  if (reference) {
    summary.canary_reference_us = *reference;
  } else {
    for (int i = 0; i < kReferenceWarmup; ++i) canary.read();
    std::vector<double> readings;
    for (int i = 0; i < kReferenceReadings; ++i) readings.push_back(canary.read());
    summary.canary_reference_us = canary_reference_from(readings);
    summary.new_reference = true;
  }
  std::vector<std::vector<RoundSamples>> rounds = plan.rounds_done;
  const size_t total = plan.block_rounds(options.rounds.rounds);
  size_t done = 0;
  RoundsHooks hooks;
  hooks.time_item = [&](size_t i) { return time_callable([&] { forwards[i]->run(); }, options.timing); };
  hooks.time_canary = [&] { return canary.read(); };
  hooks.keep = [&](const ItemRound& r) {
    const BlockToTime& block = plan.pending[r.item];
    rounds[r.item].push_back({r.samples, r.canary_us});
    RoundRow row{target.name, block.key.str(), summary.run_id, static_cast<int64_t>(rounds[r.item].size()) - 1,
                 r.samples, r.canary_us, r.attempts, r.settled};
    std::optional<MeasurementRow> completed;
    if (static_cast<int64_t>(rounds[r.item].size()) >= options.rounds.rounds) {
      completed = MeasurementRow{target.name, block.key,
                                 combine_normalized_rounds(rounds[r.item], summary.canary_reference_us), utc_now(),
                                 summary.run_id};
      ++summary.measured;
    }
    store.put_round(row, completed);
    if (observer)
      observer({++done, total, &block, row.round, r.settled,
                completed ? std::optional<TimingStats>(completed->stats) : std::nullopt});
  };
  // After building every block and the canary, while the CPU is busy: an idle CPU under a dynamic
  // governor reads a low frequency.
  const HostSnapshot conditions_at_start = read_host_snapshot();
  Json start_conditions = conditions_to_json(compare_snapshots(conditions_at_start, conditions_at_start));
  start_conditions["canary"] = {{"reference_us", summary.canary_reference_us}};
  store.set_run_conditions(summary.run_id, start_conditions.dump());
  summary.canary = run_rounds(rounds_needed, options.rounds, hooks);

  Json conditions = conditions_to_json(compare_snapshots(conditions_at_start, read_host_snapshot()));
  conditions["canary"] = canary_json(summary.canary, options.rounds.canary_threshold, summary.canary_reference_us);
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
  Network net(arch, input_size);
  const FeatureShape& in = net->resolved().input;
  const PreparedForward prepared(*net, [net](torch::Tensor x) mutable { return net->forward(x); }, in.channels,
                                 in.height, in.width, options);
  return time_in_rounds([&] { prepared.run(); }, options, rounds);
}

}  // namespace dnas

#include "latency_lut/profiler.h"

#include <ATen/Parallel.h>
#include <torch/nn/modules/container/any.h>

#include <chrono>

#include "common/version.h"
#include "ops/block_module.h"
#include "supernet/network.h"

namespace dnas {

ProfilePlan plan_profile(const LutStore& store, const TargetSpec& target, const std::vector<BlockToTime>& blocks,
                         const ProfileOptions& options) {
  const std::set<std::string> done =
      store.keys_measured_with(target.name, at::get_num_threads(), options.timing.device);
  ProfilePlan plan;
  for (const BlockToTime& block : blocks) {
    if (done.count(block.key.str())) ++plan.already_measured;
    else plan.pending.push_back(block);
  }
  return plan;
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
  run.build_commit = dnas_build_commit();
  run.dnas_version = dnas_version();
  run.space = options.space;
  run.command = options.command;
  summary.run_id = store.add_run(run);

  for (size_t i = 0; i < plan.pending.size(); ++i) {
    const BlockToTime& block = plan.pending[i];
    torch::nn::AnyModule module = make_block(*block.op, block.args);
    const FeatureShape& in = block.args.input;
    MeasurementRow row;
    row.target = target.name;
    row.key = block.key;
    row.stats = time_module_forward(*module.ptr(), [&](torch::Tensor x) { return module.forward(x); }, in.channels,
                                    in.height, in.width, options.timing);
    row.measured_at = utc_now();
    row.run_id = summary.run_id;
    store.put_measurement(row);
    ++summary.measured;
    if (observer) observer({i, plan.pending.size(), &block, row.stats});
  }
  store.finish_run(summary.run_id, utc_now());
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

TimingStats time_arch_end_to_end(const ArchSpec& arch, std::optional<int64_t> input_size,
                                 const TimingOptions& options) {
  Network net(arch, input_size);
  const FeatureShape& in = net->resolved().input;
  return time_module_forward(*net, [&](torch::Tensor x) { return net->forward(x); }, in.channels, in.height, in.width,
                             options);
}

}  // namespace dnas

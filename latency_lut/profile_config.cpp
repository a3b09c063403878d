#include "latency_lut/profile_config.h"

#include <ATen/Parallel.h>

#include "common/device.h"
#include "common/error.h"
#include "supernet/config_store.h"

namespace dnas {

const ConfigFields<ProfileConfig>& profile_config_fields() {
  using C = ProfileConfig;
  static const ConfigFields<C> fields =
      ConfigFields<C>("dnas-profile/1")
          .text("space", &C::space, "Search space name (" + config_names_listed(ConfigKind::kSpace) + ") or .yaml path")
          .text("arch", &C::arch, "Or: the blocks of one architecture (zoo name or .json), e.g. fbnet_c")
          .text("target", &C::target, "Target name (" + config_names_listed(ConfigKind::kTarget) + ") or .yaml path")
          .text("db", &C::db, "Latency table file (default: the target's `lut`, e.g. luts/host-cpu.db)")
          .integer("input", &C::input, "Input size (0: the space's)", Range::between(0, kMaxImageSize))
          .integer("input_channels", &C::input_channels, "Input channels (0: the space's; MNIST: 1)",
                   Range::between(0, 4096))
          .integer("num_classes", &C::num_classes, "Classes (0: the space's)", Range::between(0, 1000000))
          .text("device", &C::device, "cpu or cuda (default: the target's profile_device)")
          .integer("batch", &C::batch, "Batch size of the timed inputs (default: the target's lut_batch, else 1)", Range::between(1, kMaxBatch))
          .text("dtype", &C::dtype, "Data type, fp16 on CUDA only (default: the target's lut_dtype, else fp32)", {"fp32", "fp16", "bf16"})
          .text("lut_layout", &C::lut_layout, "The table's memory format: nchw, or nhwc (channels-last) (default: the target's lut_layout, else nchw)",
                {"nchw", "nhwc"})
          .integer("threads", &C::threads, "Intra-op threads (0: LibTorch's default)", Range::between(0, kMaxThreads))
          .integer("warmup", &C::warmup, "Untimed iterations before each round's timed ones", Range::between(0, 100000))
          .integer("repeats", &C::repeats, "Timed iterations per block and round", Range::between(1, 100000))
          .integer("rounds", &C::rounds,
                   "Rounds; each times every block once, in its own random order; the median over rounds of "
                   "each round's 20th percentile, normalized to the canary reference, is stored",
                   Range::between(1, 1000))
          .integer("seed", &C::seed, "Seed of the rounds' orders", Range::at_least(0))
          .number("canary_threshold", &C::canary_threshold,
                  "A block-round is timed again when the canary kernel ran this much slower than its baseline "
                  "(the 5th percentile of its readings)",
                  Range::above_to(0, 10))
          .integer("max_retries", &C::max_retries,
                   "Re-measures of a block-round spoiled by drift, at most, in its round (and again as many in a "
                   "make-up pass after the last round)",
                   Range::between(0, 100))
          .number("retry_budget", &C::retry_budget,
                  "Re-measures at most, as a fraction of the run's block-rounds; past it a spoiled block-round is "
                  "kept (normalized) and counted unsettled, so a machine that never settles ends the run in bounded "
                  "time, marked noisy",
                  Range::between(0, 100))
          .boolean("as_timed", &C::as_timed,
                   "Store timings as timed: not scaled by (canary reference / the canary after each round), "
                   "which cancels a machine's drift and throttling between runs")
          .integer("anchors", &C::anchors,
                   "Rows the table already holds (of this space or arch, same threads and device) re-timed before "
                   "the new blocks, spread over its latencies; the new rows are scaled by the median of stored / "
                   "re-timed, so a table profiled in parts stays in one unit when the machine changes; 0: by the "
                   "canary reference alone",
                   Range::between(0, 1000));
  return fields;
}

void ProfileConfig::validate() const {
  DNAS_CHECK(!target.empty(), "--target: required (a target name or .yaml)");
  profile_config_fields().validate(*this);
  DNAS_CHECK(space.empty() != arch.empty(), "profile-latency: give exactly one of --space and --arch");
}

RoundsOptions ProfileConfig::rounds_options() const {
  RoundsOptions options;
  options.rounds = rounds;
  options.seed = static_cast<uint64_t>(seed);
  options.canary_threshold = canary_threshold;
  options.max_retries = max_retries;
  options.retry_budget = retry_budget;
  return options;
}

TimingOptions ProfileConfig::timing(const TargetSpec& t) const {
  TimingOptions options;
  options.device = device.empty() ? t.profile_device : device;
  options.warmup = warmup;
  options.repeats = repeats;
  options.settings = settings();
  check_lut_settings(options.settings, "--batch/--dtype/--lut-layout");
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));
  check_device(options.device, options.settings.dtype,
               device.empty() ? "target " + t.name + " (profile_device " + t.profile_device +
                                    "; profile it on the device itself, e.g. scripts/profile-remote.sh)"
                              : "--device");
  return options;
}

TimingOptions with_profile_burst(TimingOptions timing) {
  const ProfileConfig defaults;
  timing.warmup = defaults.warmup;
  timing.repeats = defaults.repeats;
  return timing;
}

}  // namespace dnas

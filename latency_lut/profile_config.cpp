#include "latency_lut/profile_config.h"

#include <ATen/Parallel.h>

#include "common/device.h"
#include "common/error.h"

namespace dnas {

const ConfigFields<ProfileConfig>& profile_config_fields() {
  using C = ProfileConfig;
  static const ConfigFields<C> fields =
      ConfigFields<C>("dnas-profile/1")
          .text("space", &C::space, "Search space name (fbnet, small, mixed, se) or .yaml path")
          .text("arch", &C::arch, "Or: the blocks of one architecture (zoo name or .json), e.g. fbnet_c")
          .text("target", &C::target, "Target name (host-cpu, cuda, tx1, tx2, xavier, s8) or .yaml path")
          .text("db", &C::db, "Latency table file (default: the target's `lut`, e.g. luts/host-cpu.db)")
          .integer("input", &C::input, "Input size (0: the space's)", Range::between(0, kMaxImageSize))
          .integer("input_channels", &C::input_channels, "Input channels (0: the space's; MNIST: 1)",
                   Range::between(0, 4096))
          .integer("num_classes", &C::num_classes, "Classes (0: the space's)", Range::between(0, 1000000))
          .text("device", &C::device, "cpu or cuda (default: the target's profile_device)")
          .integer("batch", &C::batch, "Batch size of the timed inputs", Range::between(1, kMaxBatch))
          .text("dtype", &C::dtype, "Data type (fp16 on CUDA only)", {"fp32", "fp16", "bf16"})
          .text("memory_format", &C::memory_format, "Table layout: nchw, or nhwc (channels-last)", {"nchw", "nhwc"})
          .integer("threads", &C::threads, "Intra-op threads (0: LibTorch's default)", Range::between(0, kMaxThreads))
          .integer("warmup", &C::warmup, "Untimed iterations before timing", Range::between(0, 100000))
          .integer("repeats", &C::repeats, "Timed iterations; the median is stored", Range::between(1, 100000));
  return fields;
}

void ProfileConfig::validate() const {
  DNAS_CHECK(!target.empty(), "--target: required (a target name or .yaml)");
  profile_config_fields().validate(*this);
  DNAS_CHECK(space.empty() != arch.empty(), "profile-latency: give exactly one of --space and --arch");
}

TimingOptions ProfileConfig::timing(const TargetSpec& t) const {
  TimingOptions options;
  options.device = device.empty() ? t.profile_device : device;
  options.warmup = warmup;
  options.repeats = repeats;
  options.settings = settings();
  check_lut_settings(options.settings, "--batch/--dtype/--memory-format");
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));
  check_device(options.device, options.settings.dtype,
               device.empty() ? "target " + t.name + " (profile_device " + t.profile_device +
                                    "; profile it on the device itself, e.g. scripts/profile-remote.sh)"
                              : "--device");
  return options;
}

}  // namespace dnas

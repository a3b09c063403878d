// Timing discipline shared by the block profiler, end-to-end network timing and (later) benchmarks:
// eval mode, no-grad, warm-up iterations, device synchronisation around every timed iteration,
// per-iteration samples summarised as median / p10 / p90 / mean / std in microseconds.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "common/device.h"
#include "latency_lut/lut_key.h"
#include "latency_lut/lut_store.h"

namespace dnas {

struct TimingOptions {
  std::string device = "cpu";  // cpu | cuda
  int64_t warmup = 10;
  int64_t repeats = 50;
  LutSettings settings;
};

TimingStats summarize_samples(std::vector<double> samples_us);

// Times `run_once` (already set up) `repeats` times after `warmup` untimed calls.
TimingStats time_callable(const std::function<void()>& run_once, const TimingOptions& options);

// Puts `module` in eval mode on the options' device, dtype and memory format, and times its
// forward pass on a random N x C x H x W input under no-grad.
TimingStats time_module_forward(torch::nn::Module& module, const std::function<torch::Tensor(torch::Tensor)>& forward,
                                int64_t channels, int64_t height, int64_t width, const TimingOptions& options);

// Provenance of this process: host name, LibTorch / CUDA versions, device name, thread count.
struct HostInfo {
  std::string host, libtorch_version, cuda_version, device_name;
  int64_t threads = 0;
};
HostInfo describe_host(const std::string& device);

}  // namespace dnas

// Timing discipline shared by the block profiler, end-to-end network timing and benchmarks: eval
// mode, no-grad, warm-up iterations, device synchronisation around every timed iteration,
// per-iteration samples in microseconds (summarised by rounds.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "common/device.h"
#include "latency_lut/lut_key.h"
#include "latency_lut/lut_store.h"
#include "latency_lut/rounds.h"

namespace dnas {

struct TimingOptions {
  std::string device = "cpu";  // cpu | cuda
  int64_t warmup = 10;
  int64_t repeats = 50;
  LutSettings settings;
};

// Times `run_once` (already set up) `repeats` times after `warmup` untimed calls; returns the
// samples in microseconds (summarize_samples / combine_rounds in rounds.h summarise them).
std::vector<double> time_callable(const std::function<void()>& run_once, const TimingOptions& options);

// A forward pass ready to time: `module` in eval mode on the options' device, dtype and memory
// format, with a random N x C x H x W input; run() calls it under no-grad.
class PreparedForward {
 public:
  PreparedForward(torch::nn::Module& module, std::function<torch::Tensor(torch::Tensor)> forward, int64_t channels,
                  int64_t height, int64_t width, const TimingOptions& options);
  void run() const;

 private:
  std::function<torch::Tensor(torch::Tensor)> forward_;
  torch::Tensor input_;
};

// `run_once` timed in `rounds` bursts of warm-up + repeats, summarised with the table's estimator
// (combine_rounds: the median over bursts of each burst's low percentile), so a network's figure
// compares like for like with summed table rows.
TimingStats time_in_rounds(const std::function<void()>& run_once, const TimingOptions& options, int64_t rounds);

// PreparedForward timed in one burst (warm-up, then `repeats` samples), summarised.
TimingStats time_module_forward(torch::nn::Module& module, const std::function<torch::Tensor(torch::Tensor)>& forward,
                                int64_t channels, int64_t height, int64_t width, const TimingOptions& options);

// Provenance of this process: host name, LibTorch / CUDA versions, device name, thread count.
struct HostInfo {
  std::string host, libtorch_version, cuda_version, device_name;
  int64_t threads = 0;
};
HostInfo describe_host(const std::string& device);

}  // namespace dnas

#include "latency_lut/timing.h"

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <ATen/ops/randn.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>

#include "ops/block_module.h"
#include "common/error.h"

namespace dnas {
namespace {

torch::ScalarType scalar_type(const std::string& dtype) {
  if (dtype == "fp16") return torch::kHalf;
  if (dtype == "bf16") return torch::kBFloat16;
  return torch::kFloat;
}

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown CPU";
}

}  // namespace

std::vector<double> time_callable(const std::function<void()>& run_once, const TimingOptions& options) {
  const bool cuda = options.device == "cuda";
  auto sync = [cuda] {
    if (cuda) torch::cuda::synchronize();
  };
  for (int64_t i = 0; i < options.warmup; ++i) run_once();
  sync();
  std::vector<double> samples;
  samples.reserve(static_cast<size_t>(options.repeats));
  for (int64_t i = 0; i < options.repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run_once();
    sync();
    samples.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  return samples;
}

PreparedForward::PreparedForward(torch::nn::Module& module, std::function<torch::Tensor(torch::Tensor)> forward,
                                 int64_t channels, int64_t height, int64_t width, const TimingOptions& options)
    : forward_(std::move(forward)) {
  const torch::Device device(options.device == "cuda" ? torch::kCUDA : torch::kCPU);
  const torch::ScalarType dtype = scalar_type(options.settings.dtype);
  const bool nhwc = options.settings.memory_format == "nhwc";
  module.eval();
  module.to(device, dtype);
  if (nhwc) use_channels_last(module);
  input_ = at::randn({options.settings.batch, channels, height, width}, at::TensorOptions().dtype(dtype).device(device));
  if (nhwc) input_ = to_channels_last(input_);
}

void PreparedForward::run() const {
  torch::NoGradGuard no_grad;
  forward_(input_);
}

TimingStats time_in_rounds(const std::function<void()>& run_once, const TimingOptions& options, int64_t rounds) {
  std::vector<std::vector<double>> bursts;
  for (int64_t r = 0; r < rounds; ++r) bursts.push_back(time_callable(run_once, options));
  return combine_rounds(bursts);
}

TimingStats time_module_forward(torch::nn::Module& module, const std::function<torch::Tensor(torch::Tensor)>& forward,
                                int64_t channels, int64_t height, int64_t width, const TimingOptions& options) {
  const PreparedForward prepared(module, forward, channels, height, width, options);
  return summarize_samples(time_callable([&] { prepared.run(); }, options));
}

HostInfo describe_host(const std::string& device) {
  HostInfo info;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  info.host = host;
  info.libtorch_version = TORCH_VERSION;
  const auto& cuda = at::detail::getCUDAHooks();
  if (cuda.hasCUDA()) {
    const long version = cuda.versionCUDART();
    info.cuda_version = std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
  } else {
    info.cuda_version = "none";
  }
  info.device_name = device == "cuda" ? "CUDA device " + std::to_string(cuda.current_device()) : cpu_model_name();
  info.threads = at::get_num_threads();
  return info;
}

}  // namespace dnas

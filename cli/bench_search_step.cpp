#include "cli/bench_search_step.h"

#include <CLI/CLI.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/version.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>

#include "cli/format.h"
#include "latency_lut/timing.h"
#include "common/device.h"
#include "common/error.h"
#include "common/file_io.h"
#include "ops/tensor_memory.h"
#include "search/search_config.h"
#include "ops/block_module.h"
#include "search/search_step.h"
#include "supernet/config_store.h"
#include "supernet/network.h"
#include "supernet/supernet.h"
#ifdef DNAS_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <torch/cuda.h>
#endif

namespace dnas::cli {
namespace {

using nlohmann::json;

struct SearchStepFlags {
  std::string space = "small", mode = "soft", device = "cpu", train_layout = "nhwc", precision = "fp32";
  std::string weight_sharing = "auto";
  int64_t batch = 32, threads = 0, steps = 10, warmup = 2;
  std::optional<int64_t> input, channels, classes;
  uint64_t seed = 0;
  std::string profile;
  bool as_json = false;
};

int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

int64_t peak_resident_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

void synchronize(const c10::Device& device) {
#ifdef DNAS_WITH_CUDA
  if (device.is_cuda()) torch::cuda::synchronize();
#else
  (void)device;
#endif
}

void run_search_step(const SearchStepFlags& f) {
  // --mode and --weight-sharing are the search's own settings: checked and resolved as it does.
  SearchConfig search;
  search.mode = f.mode;
  search.weight_sharing = f.weight_sharing;
  search_config_fields().validate(search);
  const bool nested = search.resolved_weight_sharing() == "nested";
  DNAS_CHECK(f.batch >= 2 && f.steps >= 1 && f.warmup >= 0, "--batch >= 2, --steps >= 1 and --warmup >= 0 expected");
  check_device(f.device, "fp32", "--device");
  if (!f.profile.empty()) check_output_path(f.profile);
  if (f.threads > 0) at::set_num_threads(static_cast<int>(f.threads));
  if (f.device == "cpu") CpuTensorMemory::install();
  const c10::Device device(f.device == "cuda" ? c10::kCUDA : c10::kCPU);

  SearchSpace space = load_space(f.space);
  if (f.input) space.input_size = *f.input;
  if (f.channels) space.input_channels = *f.channels;
  if (f.classes) space.num_classes = *f.classes;
  at::manual_seed(f.seed);
  const bool nhwc = channels_last_format(f.train_layout);
  Supernet net(space, std::nullopt, nested ? WeightSharing::kNested : WeightSharing::kSeparate);
  net->to(device);
  if (nhwc) use_channels_last(*net);
  // A random latency table per candidate (100-1000 us) and a fixed stem + head part, as in the
  // Python baseline: the loss needs latencies, their values do not change the work.
  std::vector<at::Tensor> latency_us;
  for (const auto& layer : net->resolved().layers)
    latency_us.push_back((at::rand({static_cast<int64_t>(layer.candidates.size())}) * 900 + 100).to(device));
  const SearchConfig defaults;
  StepSettings settings;
  settings.mode = f.mode == "hard" ? SampleMode::kHard : SampleMode::kSoft;
  settings.channels_last = nhwc;
  DNAS_CHECK(f.precision == "fp32" || (f.precision == "bf16" && f.device == "cuda"),
             "--precision: expected fp32, or bf16 with --device cuda, got '", f.precision, "'");
  settings.autocast_bf16 = f.precision == "bf16";
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  const World world;
  SearchStepper stepper(net, latency_us, 500.0, settings, world);
  torch::optim::SGD w_opt(net->weight_parameters(), torch::optim::SGDOptions(defaults.lr_w)
                                                        .momentum(defaults.momentum)
                                                        .weight_decay(defaults.weight_decay));
  torch::optim::Adam theta_opt(net->theta_parameters(),
                               torch::optim::AdamOptions(defaults.resolved_lr_theta(10000)).weight_decay(defaults.theta_weight_decay));
  const auto options = at::TensorOptions().device(device);
  const std::vector<int64_t> shape{f.batch, space.input_channels, space.input_size, space.input_size};
  const at::Tensor w_images = at::randn(shape, options), theta_images = at::randn(shape, options);
  const at::Tensor w_labels = at::randint(space.num_classes, {f.batch}, options.dtype(at::kLong));
  const at::Tensor theta_labels = at::randint(space.num_classes, {f.batch}, options.dtype(at::kLong));
  const double tau = defaults.tau0;

  const int64_t resident_before = resident_bytes();
  CpuTensorMemory::reset_peak();
  const int64_t tensors_before = CpuTensorMemory::current_bytes();
#ifdef DNAS_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
#endif
  auto w_step = [&] {
    stepper.begin_phase(true);
    return stepper.w_step(w_images, w_labels, tau, w_opt);
  };
  auto theta_step = [&] {
    stepper.begin_phase(false);
    return stepper.theta_step(theta_images, theta_labels, tau, theta_opt);
  };
  for (int64_t i = 0; i < f.warmup; ++i) w_step(), theta_step();
  // Steps queue without reading results; one read at the end, as the search loop reads on a GPU.
  auto timed = [&](const auto& step) {
    synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    at::Tensor loss_sum = at::zeros({}, options.dtype(at::kDouble));
    for (int64_t i = 0; i < f.steps; ++i) loss_sum.add_(step().loss);
    DNAS_CHECK(std::isfinite(loss_sum.item<double>()), "bench search-step: the loss is not finite");
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  if (!f.profile.empty()) {
    // One more w step and theta step under LibTorch's profiler, as a chrome://tracing file.
    torch::autograd::profiler::RecordProfile record(f.profile);
    w_step();
    theta_step();
  }
  const double w_seconds = timed(w_step), theta_seconds = timed(theta_step);
  const int64_t peak = peak_resident_bytes();
  // Tensor storage the steps needed beyond the model, optimizer state and data held before them.
  const int64_t step_tensors = CpuTensorMemory::peak_bytes() - tensors_before;
  std::optional<int64_t> peak_cuda;
#ifdef DNAS_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
    peak_cuda = stats.allocated_bytes[0].peak;  // StatType::AGGREGATE
  }
#endif

  const double images = static_cast<double>(f.batch * f.steps);
  json result{{"space", f.space}, {"batch", f.batch}, {"input", space.input_size}, {"channels", space.input_channels},
              {"classes", space.num_classes}, {"mode", f.mode},
              {"weight_sharing", nested ? "nested" : "separate"}, {"device", f.device}, {"memory_format", f.train_layout}, {"precision", f.precision},
              {"threads", at::get_num_threads()}, {"steps", f.steps}, {"warmup", f.warmup},
              {"libtorch", TORCH_VERSION}, {"layers", net->num_layers()}, {"params", count_parameters(*net)},
              {"w_images_per_s", images / w_seconds}, {"theta_images_per_s", images / theta_seconds},
              {"ms_per_w_step", 1000 * w_seconds / f.steps}, {"ms_per_theta_step", 1000 * theta_seconds / f.steps},
              {"peak_rss_bytes", peak}, {"rss_growth_bytes", std::max<int64_t>(0, peak - resident_before)}};
  if (f.device == "cpu") result["peak_step_tensor_bytes"] = step_tensors;
  if (peak_cuda) result["peak_cuda_bytes"] = *peak_cuda;
  if (f.as_json) {
    std::cout << result.dump() << '\n';
    return;
  }
  std::cout << "space " << f.space << ", " << net->num_layers() << " searchable layers, input " << space.input_channels
            << "x" << space.input_size << "x" << space.input_size << "; " << f.mode << " mode, batch " << f.batch << ", "
            << f.device << ", " << at::get_num_threads() << " threads, LibTorch " << TORCH_VERSION << "\n"
            << "supernet params " << with_commas(count_parameters(*net)) << "\n"
            << "w step      " << fixed(1000 * w_seconds / f.steps, 2) << " ms  " << fixed(images / w_seconds, 1)
            << " images/s\n"
            << "theta step  " << fixed(1000 * theta_seconds / f.steps, 2) << " ms  " << fixed(images / theta_seconds, 1)
            << " images/s\n"
            << "memory      peak RSS " << human_bytes(static_cast<double>(peak)) << " (the steps added "
            << human_bytes(static_cast<double>(std::max<int64_t>(0, peak - resident_before))) << ")"
            << (f.device == "cpu" ? ", peak tensor memory of a step " + human_bytes(static_cast<double>(step_tensors))
                                  : std::string())
            << (peak_cuda ? ", CUDA allocator peak " + human_bytes(static_cast<double>(*peak_cuda)) : std::string()) << "\n"
            << "(" << f.warmup << " warm-up + " << f.steps << " timed steps of each kind; compare with "
            << "bench/search_step.py, or run bench/search_step.sh for both)\n";
}

}  // namespace

void add_bench_search_step(CLI::App& bench) {
  auto f = std::make_shared<SearchStepFlags>();
  CLI::App* cmd = bench.add_subcommand(
      "search-step",
      "Speed and memory of the search's w and theta steps on synthetic data\n"
      "Runs the search loop's own steps (Gumbel sample, forward, latency-aware loss, backward,\n"
      "optimizer) and reports images/s, ms per step and peak memory (resident set on CPU, the CUDA\n"
      "allocator's peak on a GPU). bench/search_step.py measures the same supernet in Python PyTorch.\n"
      "Examples:\n"
      "  dnas bench search-step --space small --input 28 --channels 1 --batch 32 --mode soft\n"
      "  dnas bench search-step --space fbnet --input 224 --batch 256 --mode hard --device cuda --json");
  cmd->add_option("--space", f->space, "Search space name or .yaml")->capture_default_str();
  cmd->add_option("--batch", f->batch, "Images per step")->capture_default_str();
  cmd->add_option("--input", f->input, "Input size (default: the space's)");
  cmd->add_option("--channels", f->channels, "Input channels (default: the space's)");
  cmd->add_option("--classes", f->classes, "Classes (default: the space's)");
  cmd->add_option("--mode", f->mode, "soft (every candidate runs) or hard (only the sampled one)")->capture_default_str();
  cmd->add_option("--weight-sharing", f->weight_sharing,
                  "Candidates' conv weights: separate, nested or auto (nested in hard mode), as in dnas search")
      ->capture_default_str();
  cmd->add_option("--device", f->device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--train-layout", f->train_layout, "nhwc (channels-last) or nchw")->capture_default_str();
  cmd->add_option("--precision", f->precision, "fp32, or bf16 (CUDA autocast)")->capture_default_str();
  cmd->add_option("--threads", f->threads, "Intra-op threads (0: LibTorch's default)")->capture_default_str();
  cmd->add_option("--steps", f->steps, "Timed steps of each kind")->capture_default_str();
  cmd->add_option("--warmup", f->warmup, "Untimed w + theta steps first")->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed for weights and data")->capture_default_str();
  cmd->add_option("--profile", f->profile, "Also write a chrome://tracing profile of one w and one theta step");
  cmd->add_flag("--json", f->as_json, "Print one JSON object");
  cmd->callback([f] { run_search_step(*f); });
}

}  // namespace dnas::cli

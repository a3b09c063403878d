#include "cli/bench_shift.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <ATen/Parallel.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/randn.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/format.h"
#include "latency_lut/timing.h"
#include "common/device.h"
#include "common/error.h"
#include "ops/shift.h"
#include "ops/shift_geometry.h"

namespace dnas::cli {
namespace {

using nlohmann::json;

struct ShiftBenchFlags {
  std::string device = "cpu";
  int64_t batch = 32, threads = 0, repeats = 20, rounds = 3;
  bool as_json = false;
};

// Expanded feature maps of shift blocks: ShiftNet-style widths at the ImageNet stages where
// the fbnet space has its stride-1 and stride-2 layers.
struct ShiftCase {
  int64_t channels, size, kernel, stride;
};
const std::vector<ShiftCase> kCases = {{96, 56, 3, 1}, {144, 28, 5, 1}, {192, 28, 3, 2}, {576, 14, 5, 1}};

using ShiftFn = at::Tensor (*)(const at::Tensor&, int64_t, int64_t);

// Median over `rounds` of each round's median: the kernel and the slicing take turns, so a
// change in machine load hits both alike.
double median_of_rounds(std::vector<double> medians) {
  std::sort(medians.begin(), medians.end());
  return medians[medians.size() / 2];
}

void run_bench_shift(const ShiftBenchFlags& f) {
  DNAS_CHECK(f.batch >= 1 && f.repeats >= 1 && f.rounds >= 1, "bench shift: --batch, --repeats and --rounds must be >= 1");
  check_device(f.device, "fp32", "--device");
  if (f.threads > 0) at::set_num_threads(static_cast<int>(f.threads));
  TimingOptions timing;
  timing.device = f.device;
  timing.warmup = 3;
  timing.repeats = f.repeats;
  const auto options = at::TensorOptions().device(f.device == "cuda" ? c10::kCUDA : c10::kCPU);

  json rows = json::array();
  double log_forward_ratio = 0, log_backward_ratio = 0;
  for (const ShiftCase& c : kCases) {
    for (bool nhwc : {false, true}) {
      const auto format = nhwc ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
      const at::Tensor x = at::randn({f.batch, c.channels, c.size, c.size}, options).contiguous(format);
      const at::Tensor x_grad = x.detach().requires_grad_(true);
      const int64_t out_size = shift_output_size(c.size, c.stride);
      const at::Tensor upstream = at::randn({f.batch, c.channels, out_size, out_size}, options).contiguous(format);
      auto gradient = [&](ShiftFn fn) {
        return torch::autograd::grad({fn(x_grad, c.kernel, c.stride)}, {x_grad}, {upstream})[0];
      };
      const std::string shape = std::to_string(c.channels) + "x" + std::to_string(c.size) + "x" +
                                std::to_string(c.size) + " k" + std::to_string(c.kernel) + " s" + std::to_string(c.stride);
      DNAS_CHECK(at::equal(shift(x, c.kernel, c.stride), shift_by_slicing(x, c.kernel, c.stride)) &&
                     at::equal(gradient(&shift), gradient(&shift_by_slicing)),
                 "bench shift: the kernel and the slicing disagree on ", f.device, " for ", shape);

      std::vector<double> forward[2], backward[2];  // [0]: kernel, [1]: slicing
      for (int64_t round = 0; round < f.rounds; ++round) {
        int which = 0;
        for (ShiftFn fn : {static_cast<ShiftFn>(&shift), static_cast<ShiftFn>(&shift_by_slicing)}) {
          forward[which].push_back(summarize_samples(time_callable([&] { fn(x, c.kernel, c.stride); }, timing)).median_us);
          backward[which].push_back(summarize_samples(time_callable([&] { gradient(fn); }, timing)).median_us);
          ++which;
        }
      }
      const double kernel_fwd = median_of_rounds(forward[0]), slicing_fwd = median_of_rounds(forward[1]);
      const double kernel_fb = median_of_rounds(backward[0]), slicing_fb = median_of_rounds(backward[1]);
      log_forward_ratio += std::log(slicing_fwd / kernel_fwd);
      log_backward_ratio += std::log(slicing_fb / kernel_fb);
      rows.push_back({{"shape", shape}, {"memory_format", nhwc ? "nhwc" : "nchw"}, {"kernel_forward_us", kernel_fwd},
                      {"slicing_forward_us", slicing_fwd}, {"kernel_forward_backward_us", kernel_fb},
                      {"slicing_forward_backward_us", slicing_fb}});
    }
  }
  const double n = static_cast<double>(rows.size());
  const json result{{"device", f.device}, {"batch", f.batch}, {"threads", at::get_num_threads()},
                    {"libtorch", TORCH_VERSION}, {"repeats", f.repeats}, {"rounds", f.rounds}, {"verified_equal", true},
                    {"cases", rows}, {"forward_speedup_geomean", std::exp(log_forward_ratio / n)},
                    {"forward_backward_speedup_geomean", std::exp(log_backward_ratio / n)}};
  if (f.as_json) {
    std::cout << result.dump() << '\n';
    return;
  }
  std::cout << "shift kernel vs LibTorch slicing (pad, strided slices, concat); batch " << f.batch << ", " << f.device
            << ", " << at::get_num_threads() << " threads, LibTorch " << TORCH_VERSION << "\n"
            << "outputs and gradients verified equal bit for bit before timing\n";
  Table table({"map", "layout", "kernel fwd", "slicing fwd", "speed-up", "kernel fwd+bwd", "slicing fwd+bwd", "speed-up"},
              {false, false, true, true, true, true, true, true});
  for (const json& row : rows) {
    const double kf = row["kernel_forward_us"].get<double>(), sf = row["slicing_forward_us"].get<double>();
    const double kb = row["kernel_forward_backward_us"].get<double>();
    const double sb = row["slicing_forward_backward_us"].get<double>();
    table.add_row({row["shape"].get<std::string>(), row["memory_format"].get<std::string>(), format_us(kf), format_us(sf), fixed(sf / kf, 2) + "x",
                   format_us(kb), format_us(sb), fixed(sb / kb, 2) + "x"});
  }
  table.print(std::cout);
  std::cout << "geometric mean speed-up: forward " << fixed(result["forward_speedup_geomean"].get<double>(), 2)
            << "x, forward+backward " << fixed(result["forward_backward_speedup_geomean"].get<double>(), 2) << "x (medians of "
            << f.rounds << " interleaved rounds of " << f.repeats << " runs)\n";
}

}  // namespace

void add_bench_shift(CLI::App& bench) {
  auto f = std::make_shared<ShiftBenchFlags>();
  CLI::App* cmd = bench.add_subcommand(
      "shift",
      "The shift kernel against the same shift composed of LibTorch ops\n"
      "Times ops/shift.h's kernel (a single gather; CUDA when built against a LibTorch with CUDA)\n"
      "and the pad + strided slices + concat composition, forward and forward+backward, on the\n"
      "expanded feature maps of shift blocks, in NCHW and NHWC. Both are first checked to agree bit\n"
      "for bit on the device.\n"
      "Examples:\n"
      "  dnas bench shift --threads 2\n"
      "  dnas bench shift --device cuda --batch 256 --json");
  cmd->add_option("--device", f->device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--batch", f->batch, "Images per feature map")->capture_default_str();
  cmd->add_option("--threads", f->threads, "Intra-op threads (0: LibTorch's default)")->capture_default_str();
  cmd->add_option("--repeats", f->repeats, "Timed runs per measurement")->capture_default_str();
  cmd->add_option("--rounds", f->rounds, "Interleaved rounds; the median round is reported")->capture_default_str();
  cmd->add_flag("--json", f->as_json, "Print one JSON object");
  cmd->callback([f] { run_bench_shift(*f); });
}

}  // namespace dnas::cli

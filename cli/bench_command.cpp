#include "cli/bench_command.h"

#include "cli/bench_search_step.h"
#include "cli/bench_loader.h"
#include "cli/bench_shift.h"

#include <CLI/CLI.hpp>
#include <torch/csrc/jit/mobile/import.h>
#include <torch/csrc/jit/mobile/module.h>
#include <torch/script.h>

#include <ATen/Parallel.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include "latency_lut/latency_table.h"
#include "latency_lut/profile_config.h"
#include "latency_lut/profiler.h"
#include "common/device.h"
#include "common/error.h"
#include "common/file_io.h"
#include "supernet/config_store.h"

namespace dnas::cli {
namespace {

// "RuntimeError: Given groups=1, ..." out of a TorchScript traceback: its last non-empty line.
std::string last_error_line(const std::string& message) {
  std::string line;
  std::istringstream lines(message);
  for (std::string next; std::getline(lines, next);)
    if (next.find_first_not_of(" \t") != std::string::npos) line = next;
  const std::string prefix = "RuntimeError: ";
  return line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : line;
}

using nlohmann::json;
namespace fs = std::filesystem;

struct BenchNetFlags {
  std::string arch, model, target, db, device = "cpu", dtype = "fp32", lut_layout = "nchw", input_shape;
  std::optional<int64_t> input_size;
  int64_t batch = 1, threads = 0, warmup = 2, repeats = 10, rounds = 5;
  bool as_json = false;
};

// "3x224x224" -> {3, 224, 224}
std::vector<int64_t> parse_shape(const std::string& text) {
  std::vector<int64_t> dims;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = text.find('x', start);
    const std::string part = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    try {
      size_t used = 0;
      const long long value = std::stoll(part, &used);
      if (used != part.size() || value <= 0) throw std::invalid_argument(part);
      dims.push_back(value);
    } catch (...) {
      throw Error("--input-shape: expected CxHxW such as 3x224x224, got '" + text + "'");
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  DNAS_CHECK(dims.size() == 3, "--input-shape: expected CxHxW such as 3x224x224, got '", text, "'");
  return dims;
}

void run_bench_net(const BenchNetFlags& f) {
  DNAS_CHECK(!f.arch.empty() || !f.model.empty(), "bench net: give --arch (an arch or zoo model) or --model (TorchScript)");
  DNAS_CHECK(f.threads >= 0 && f.repeats >= 1 && f.warmup >= 0 && f.rounds >= 1,
             "--threads, --warmup, --repeats and --rounds must be >= 0 / 1");
  if (f.threads > 0) at::set_num_threads(static_cast<int>(f.threads));
  TimingOptions timing;
  timing.device = f.device;
  timing.warmup = f.warmup;
  timing.repeats = f.repeats;
  timing.settings = {f.batch, f.dtype, f.lut_layout};
  check_lut_settings(timing.settings, "--batch/--dtype/--lut-layout");
  check_device(f.device, f.dtype, "--device");

  std::optional<ArchSpec> arch;
  if (!f.arch.empty()) arch = load_arch(f.arch);
  TimingStats stats;
  std::string what;
  if (!f.model.empty()) {
    std::vector<int64_t> shape = !f.input_shape.empty() ? parse_shape(f.input_shape)
                                 : arch ? std::vector<int64_t>{arch->input_channels, f.input_size.value_or(arch->input_size),
                                                               f.input_size.value_or(arch->input_size)}
                                        : std::vector<int64_t>{3, 224, 224};
    const torch::Device device(f.device == "cuda" ? torch::kCUDA : torch::kCPU);
    torch::NoGradGuard no_grad;
    const torch::Tensor input = torch::randn({f.batch, shape[0], shape[1], shape[2]}, torch::TensorOptions().device(device));
    const bool lite = fs::path(f.model).extension() == ".ptl";
    check_input_file(f.model);
    try {
      if (lite) {  // PyTorch Mobile's lite-interpreter format (dnas lut export-ops)
        torch::jit::mobile::Module module = torch::jit::_load_for_mobile(f.model, device);
        stats = time_in_rounds([&] { module.forward({input}); }, timing, f.rounds);
      } else {
        torch::jit::Module module = torch::jit::load(f.model);
        module.eval();
        module.to(device);
        std::vector<torch::jit::IValue> inputs{input};
        stats = time_in_rounds([&] { module.forward(inputs); }, timing, f.rounds);
      }
    } catch (const c10::Error& e) {
      const std::string message = e.what_without_backtrace();
      throw Error(f.model + ": cannot load or run as " + (lite ? "a lite-interpreter model" : "TorchScript") + " (" +
                  message.substr(0, message.find('\n')) + ")");
    } catch (const std::runtime_error& e) {
      // The TorchScript interpreter's errors carry both tracebacks; the cause is the last line.
      throw Error(f.model + ": running it failed (" + last_error_line(e.what()) + ")");
    }
    what = f.model;
  }

  // With a table to predict from: its rows for this arch's blocks, and up to kAnchors of them to
  // re-time beside the network (anchors.h), so the prediction is also compared in its own units.
  std::optional<TargetSpec> target;
  std::string db_path;
  StoredAnchors anchors;
  if (!f.target.empty()) {
    DNAS_CHECK(arch.has_value(), "--target: a prediction needs the network's --arch");
    target = load_target(f.target);
    db_path = table_for_lookup(*target, f.db);
    if (!db_path.empty() && f.model.empty())
      anchors = stored_anchors(LutStore(db_path, OpenMode::kExisting), *target,
                               enumerate_arch_blocks(resolve_arch(*arch, f.input_size), timing.settings), timing,
                               kAnchors);
  }
  AnchorScale scale;
  if (f.model.empty()) {
    stats = time_arch_beside_anchors(*arch, f.input_size, timing, f.rounds, anchors, with_profile_burst(timing), scale);
    what = f.arch;
  }

  json prediction = nullptr;
  std::string predicted_text;
  if (target) {
    const LatencyTable table(*target, db_path, timing.settings, /*estimate_missing=*/true);
    const ArchLatency latency = table.for_arch(resolve_arch(*arch, f.input_size), "<space>");
    const double us = latency.total_us();
    prediction = {{"target", target->name}, {"predicted_ms", us / 1000.0}, {"estimated", latency.any_estimated},
                  {"error", (us - stats.median_us) / stats.median_us}, {"anchors", nullptr}};
    char text[400];
    std::snprintf(text, sizeof text, "\n  predicted by the %s table: %.3f ms%s (%+.1f%% vs this machine's measurement)",
                  target->name.c_str(), us / 1000.0, latency.any_estimated ? " (includes ESTIMATED rows)" : "",
                  100.0 * (us - stats.median_us) / stats.median_us);
    predicted_text = text;
    if (scale.anchors > 0) {
      const double in_units = stats.median_us * scale.scale;
      prediction["anchors"] = {{"count", scale.anchors}, {"scale", scale.scale}, {"min_ratio", scale.min_ratio},
                               {"max_ratio", scale.max_ratio}, {"measured_in_table_units_ms", in_units / 1000.0},
                               {"error_in_table_units", (us - in_units) / in_units}};
      std::snprintf(text, sizeof text,
                    "\n  in the table's units (%zu of its rows re-timed beside it, stored / now x%.3f, %.3f-%.3f): "
                    "%.3f ms, which the summed rows miss by %+.1f%% (the machine's drift since profiling taken out)",
                    scale.anchors, scale.scale, scale.min_ratio, scale.max_ratio, in_units / 1000.0,
                    100.0 * (us - in_units) / in_units);
      predicted_text += text;
    }
  }
  if (f.as_json) {
    std::cout << json{{"network", what}, {"device", f.device}, {"batch", f.batch}, {"dtype", f.dtype},
                      {"threads", at::get_num_threads()}, {"median_ms", stats.median_us / 1000.0},
                      {"p10_ms", stats.p10_us / 1000.0}, {"p90_ms", stats.p90_us / 1000.0},
                      {"mean_ms", stats.mean_us / 1000.0}, {"std_ms", stats.std_us / 1000.0},
                      {"repeats", stats.repeats}, {"rounds", stats.rounds}, {"prediction", prediction}}
                     .dump(2)
              << '\n';
    return;
  }
  char line[256];
  std::snprintf(line, sizeof line, "%s on %s, batch %lld, %s, %d threads: %.3f ms (p10 %.3f, p90 %.3f, %lld runs in %lld rounds)",
                what.c_str(), f.device.c_str(), static_cast<long long>(f.batch), f.dtype.c_str(), at::get_num_threads(),
                stats.median_us / 1000.0, stats.p10_us / 1000.0, stats.p90_us / 1000.0,
                static_cast<long long>(stats.repeats), static_cast<long long>(stats.rounds));
  std::cout << line << predicted_text << '\n';
}

}  // namespace

void add_bench_command(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Measure networks on this machine");
  bench->require_subcommand(1);
  auto f = std::make_shared<BenchNetFlags>();
  CLI::App* net = bench->add_subcommand(
      "net",
      "End-to-end latency of a network, with the latency table's prediction beside it\n"
      "Times the whole network in eval/no-grad mode with warm-up and device sync (the profiler's discipline).\n"
      "With --target and a table that has the arch's blocks, 8 of them are re-timed beside the network in\n"
      "every round, and the measurement is also given in the table's units (x their median stored /\n"
      "re-timed): how far whole networks sit from their summed rows, whatever the machine did since profiling.\n"
      "Examples:\n"
      "  dnas bench net --arch fbnet_c --target host-cpu\n"
      "  dnas bench net --arch runs/mnist/arch.json --target host-cpu --json\n"
      "  dnas bench net --model model.pt --input-shape 3x224x224");
  net->add_option("--arch", f->arch, "Arch .json or zoo model name");
  net->add_option("--model", f->model, "A TorchScript model file instead (input from --input-shape or --arch)");
  net->add_option("--input-shape", f->input_shape, "CxHxW of the TorchScript model's input [3x224x224]");
  net->add_option("--input", f->input_size, "Input size for --arch (default: the arch's)");
  net->add_option("--target", f->target, "Show this target's table prediction beside the measurement");
  net->add_option("--db", f->db, "Latency table (default: the target's)");
  net->add_option("--device", f->device, "cpu or cuda")->capture_default_str();
  net->add_option("--batch", f->batch, "Batch size")->capture_default_str();
  net->add_option("--dtype", f->dtype, "fp32, fp16 (CUDA) or bf16")->capture_default_str();
  net->add_option("--lut-layout", f->lut_layout, "Layout to time in and to look the table up at: nchw or nhwc")->capture_default_str();
  net->add_option("--threads", f->threads, "Intra-op threads (0: default)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1024}));
  net->add_option("--rounds", f->rounds,
                  "Bursts of warm-up + timed runs; the latency is the median over bursts of each burst's 20th "
                  "percentile, as in latency tables")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{10000}));
  net->add_option("--warmup", f->warmup, "Untimed runs per round")->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  net->add_option("--repeats", f->repeats, "Timed runs per round")->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  net->add_flag("--json", f->as_json, "Print JSON");
  net->callback([f] { run_bench_net(*f); });
  add_bench_search_step(*bench);
  add_bench_shift(*bench);
  add_bench_loader(*bench);
}

}  // namespace dnas::cli

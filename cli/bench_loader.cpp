#include "cli/bench_loader.h"

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <numeric>
#include <string>

#include "cli/config_flags.h"
#include "cli/progress.h"
#include "common/error.h"
#include "data/batch_loader.h"
#include "data/data_config_fields.h"
#include "data/dataset.h"

namespace dnas::cli {
namespace {

using nlohmann::json;

struct LoaderBenchFlags {
  std::string data;
  int64_t image_size = 224, batch_size = 64, loader_threads = 0, batches = 40, seed = 0;
  bool eval = false, skip_bad_images = false, as_json = false;
  double crop_scale_min = 0.08, eval_resize_ratio = 256.0 / 224.0;
};

int64_t peak_resident_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void run_bench_loader(const LoaderBenchFlags& f) {
  const DataOptions options = data_options(f);  // the loader flags carry the config fields' names
  at::set_num_threads(1);  // normalising is the loader's only LibTorch work: keep it off the decoders' cores
  const auto index_start = std::chrono::steady_clock::now();
  const Dataset data = load_dataset(f.data, !f.eval, options);
  const double index_seconds = seconds_since(index_start);
  const int64_t threads = data.streamed() ? data.stream->threads() : 1;
  std::vector<int64_t> all(static_cast<size_t>(data.size()));
  std::iota(all.begin(), all.end(), 0);
  const int64_t available = batches_per_epoch(data.size(), f.batch_size, 1);
  DNAS_CHECK(available >= 1, "--data ", f.data, ": fewer images (", data.size(), ") than one batch of ", f.batch_size);
  const int64_t batches = std::min(f.batches, available);

  ProgressBar bar("loading", static_cast<size_t>(batches), !f.as_json);
  BatchLoader loader(data, all, f.batch_size, static_cast<uint64_t>(f.seed), 0, c10::Device(c10::kCPU), {},
                     /*augment=*/!f.eval);
  Batch batch;
  // The first batch starts the pipeline: timed separately, as a run's first step would see it.
  const auto first_start = std::chrono::steady_clock::now();
  DNAS_CHECK(loader.next(batch), "--data ", f.data, ": no batch");
  const double first_seconds = seconds_since(first_start);
  bar.update(1, "");
  const auto start = std::chrono::steady_clock::now();
  int64_t timed = 0;
  for (; timed + 1 < batches && loader.next(batch); ++timed) bar.update(static_cast<size_t>(timed + 2), "");
  const double seconds = seconds_since(start);
  bar.finish();
  const double images = static_cast<double>(timed * f.batch_size);
  const double per_s = seconds > 0 ? images / seconds : 0;
  const std::vector<std::string> skipped = skipped_images(data);
  if (f.as_json) {
    std::cout << json{{"data", f.data},
                      {"transform", f.eval ? "eval" : "train"},
                      {"images", data.size()},
                      {"image_size", f.image_size},
                      {"batch_size", f.batch_size},
                      {"threads", threads},
                      {"batches_timed", timed},
                      {"index_seconds", index_seconds},
                      {"first_batch_seconds", first_seconds},
                      {"seconds", seconds},
                      {"images_per_s", per_s},
                      {"images_per_s_per_thread", per_s / static_cast<double>(threads)},
                      {"peak_rss_bytes", peak_resident_bytes()},
                      {"skipped_images", skipped}}
                     .dump(2)
              << '\n';
    return;
  }
  char line[320];
  std::snprintf(line, sizeof line,
                "%s (%s transform, %lld px): %.1f images/s with %lld thread(s) (%.1f per thread) over %lld batches of "
                "%lld; first batch %.2f s, index %.2f s; peak RSS %.0f MiB",
                f.data.c_str(), f.eval ? "eval" : "train", static_cast<long long>(f.image_size), per_s,
                static_cast<long long>(threads), per_s / static_cast<double>(threads), static_cast<long long>(timed),
                static_cast<long long>(f.batch_size), first_seconds, index_seconds,
                static_cast<double>(peak_resident_bytes()) / (1 << 20));
  std::cout << line << '\n';
  if (!skipped.empty()) std::cout << "skipped " << skipped.size() << " bad image(s), first: " << skipped.front() << '\n';
}

}  // namespace

void add_bench_loader(CLI::App& bench) {
  auto f = std::make_shared<LoaderBenchFlags>();
  CLI::App* cmd = bench.add_subcommand(
      "loader",
      "Images/s and peak memory of the data loader on a dataset (decode, crop, resize, flip, normalise)\n"
      "Times --batches batches after the first (which starts the pipeline), on the CPU.\n"
      "Examples:\n"
      "  dnas bench loader --data folder:/data/imagenet100 --image-size 224 --batch-size 64 --threads 2\n"
      "  dnas bench loader --data folder:/data/imagenet --eval --json");
  cmd->add_option("--data", f->data, "Dataset (folder:DIR streams; others are in memory)")->required();
  cmd->add_option("--image-size", f->image_size, "Output size")
      ->capture_default_str()
      ->check(in_range(data_range::image_size()));
  cmd->add_option("--batch-size", f->batch_size, "Batch size")
      ->capture_default_str()
      ->check(in_range(Range::between(2, kMaxBatch)));
  cmd->add_option("--threads", f->loader_threads, "Decoding threads (0: the core count)")
      ->capture_default_str()
      ->check(in_range(data_range::loader_threads()));
  cmd->add_option("--batches", f->batches, "Batches to time (at most an epoch)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  cmd->add_option("--seed", f->seed, "Order and augmentation seed")->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{1} << 62));
  cmd->add_option("--crop-scale-min", f->crop_scale_min, "RandomResizedCrop's smallest area fraction")
      ->capture_default_str()
      ->check(in_range(data_range::crop_scale_min()));
  cmd->add_option("--eval-resize-ratio", f->eval_resize_ratio, "Evaluation: short side = image-size x this")
      ->capture_default_str()
      ->check(in_range(data_range::eval_resize_ratio()));
  cmd->add_flag("--eval", f->eval, "The evaluation transform (resize, centre crop) instead of the training one");
  cmd->add_flag("--skip-bad-images", f->skip_bad_images, "Skip corrupt files instead of stopping");
  cmd->add_flag("--json", f->as_json, "Print JSON");
  cmd->callback([f] { run_bench_loader(*f); });
}

}  // namespace dnas::cli

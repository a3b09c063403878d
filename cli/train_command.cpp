#include "cli/train_command.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <iostream>

#include "cli/format.h"
#include "cli/interrupt.h"
#include "cli/config_flags.h"
#include "cli/progress.h"
#include "ops/block_module.h"
#include "latency_lut/timing.h"
#include "common/device.h"
#include "common/error.h"
#include "common/file_io.h"
#include "data/data_config_fields.h"
#ifdef DNAS_WITH_ONNX
#include "export/onnx.h"
#endif
#include "export/torchscript.h"
#include "train/training.h"
#include "train/weights.h"
#include "common/config_reader.h"
#include "supernet/config_store.h"
#include "supernet/network.h"

namespace dnas::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct TrainFlags {
  explicit TrainFlags(CLI::App* cmd) : flags(cmd, train_config_fields()) {}
  ConfigFlags<TrainConfig> flags;
  std::string recipe_name, config_file;
  bool resume = false, as_json = false;
};

void run_train_command(TrainFlags& f) {
  TrainConfig config;
  if (!f.config_file.empty())
    config = train_config_from_json(parse_json_text(read_text_file(f.config_file), f.config_file), f.config_file);
  if (!f.recipe_name.empty()) {
    const ConfigText recipe = require_config(ConfigKind::kRecipe, f.recipe_name);
    config = train_config_from_json(parse_json_text(recipe.text, recipe.origin), recipe.origin, config);
    config.recipe = recipe.origin;
  }
  if (f.resume) {
    TrainConfig probe = config;
    f.flags.apply(probe);
    const std::string saved = (fs::path(probe.out) / "config.json").string();
    std::error_code ec;
    DNAS_CHECK(fs::exists(saved, ec), "--resume: ", probe.out, " holds no training run (", saved, " is missing)");
    const TrainConfig from_run = train_config_from_json(parse_json_text(read_text_file(saved), saved), saved);
    if (!f.recipe_name.empty())
      DNAS_CHECK(from_run.recipe == config.recipe, "--resume: the run used recipe ", from_run.recipe, ", not ",
                 config.recipe);
    config = from_run;
  }
  f.flags.apply(config);
  config.validate();  // before joining other ranks, so a bad flag fails at once

  // Launched by torchrun / srun / mpirun: join the other ranks; rank 0 alone reports.
  const World world = World::join(read_launch_info(), config.device);
  const bool quiet = f.as_json || !world.is_main();
  const InterruptScope interrupt;
  bool announced = false;
  std::unique_ptr<ProgressBar> bar;
  int64_t bar_epoch = -1;
  TrainCallbacks callbacks;
  callbacks.on_step = [&](int64_t epoch, int64_t step, int64_t steps, double loss) {
    if (quiet) return;
    if (world.distributed() && !announced) {  // after the run directory checks, which fail in one line
      std::cerr << "distributed: " << world.describe() << ", batch " << config.batch_size << " per rank, "
                << config.batch_size * world.size() << " in all\n";
      announced = true;
    }
    if (epoch != bar_epoch) {
      bar = std::make_unique<ProgressBar>("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(config.epochs),
                                          static_cast<size_t>(steps));
      bar_epoch = epoch;
    }
    char text[32];
    std::snprintf(text, sizeof text, "loss %.3f", loss);
    bar->update(static_cast<size_t>(step), text);
  };
  callbacks.on_epoch = [&](const TrainEpoch& e) {
    if (quiet) return;
    if (bar) bar->finish();
    bar.reset();
    bar_epoch = -1;
    char test[96] = "test not scored (--eval-every)";
    if (e.test)
      std::snprintf(test, sizeof test, "test top-1 %s top-5 %s loss %.3f", percent(e.test->top1, 2).c_str(),
                    percent(e.test->top5, 2).c_str(), e.test->loss);
    char line[256];
    std::snprintf(line, sizeof line, "epoch %lld: train loss %.3f acc %s | %s | lr %.4f | %s (data wait %s)",
                  static_cast<long long>(e.epoch + 1), e.train_loss, percent(e.train_accuracy, 2).c_str(), test, e.lr,
                  format_duration(e.seconds).c_str(), percent(e.data_wait_seconds / std::max(1e-9, e.seconds), 0).c_str());
    std::cerr << line << '\n';
  };
  const TrainResult result = run_training(config, f.resume, interrupt.requested(), callbacks, world);
  if (result.interrupted && !world.is_main()) std::exit(130);
  if (!world.is_main()) return;
  if (result.interrupted) {
    std::cerr << "\ninterrupted: checkpoint written to " << (fs::path(config.out) / "checkpoint.pt").string()
              << "; continue with: dnas train --resume --out " << config.out << '\n';
    std::exit(130);
  }
  const std::string best = (fs::path(config.out) / "best.pt").string();
  if (!result.skipped_images.empty()) {
    std::cerr << "skipped " << result.skipped_images.size() << " bad image(s) (--skip-bad-images):\n";
    for (const std::string& file : result.skipped_images) std::cerr << "  " << file << '\n';
  }
  if (f.as_json) {
    json epochs = json::array();
    for (const TrainEpoch& e : result.epochs) {
      json epoch = {{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"seconds", e.seconds},
                    {"data_wait_seconds", e.data_wait_seconds}};
      if (e.test) epoch.update({{"test_top1", e.test->top1}, {"test_top5", e.test->top5}});
      epochs.push_back(epoch);
    }
    std::cout << json{{"run", config.out}, {"ranks", world.size()}, {"best_top1", result.best_top1}, {"best_epoch", result.best_epoch},
                      {"best_weights", best}, {"last_weights", (fs::path(config.out) / "last.pt").string()},
                      {"epochs", epochs}, {"skipped_images", result.skipped_images}}
                     .dump(2)
              << '\n';
    return;
  }
  std::cout << "trained " << config.arch << " on " << config.data << ": best test top-1 " << percent(result.best_top1, 2)
            << " (epoch " << result.best_epoch + 1 << ")\n  best weights: " << best << "\n  last weights: "
            << (fs::path(config.out) / "last.pt").string() << "\n";
}

struct EvalFlags {
  std::string arch, weights, data, device = "cpu", train_layout = "nhwc";
  int64_t batch_size = 256, image_size = 32, loader_threads = 0;
  double eval_resize_ratio = 256.0 / 224.0, crop_scale_min = 0.08;  // crop_scale_min: training only
  bool skip_bad_images = false, as_json = false;
};

void run_eval(const EvalFlags& f) {
  check_device(f.device, "fp32", "--device");
  DNAS_CHECK(f.batch_size >= 1, "--batch-size: expected at least 1, got ", f.batch_size);
  const Dataset test = load_dataset(f.data, false, data_options(f));
  const ArchSpec arch = arch_for_data(load_arch(f.arch), test);
  Network net(arch);
  load_weights(*net, f.weights);
  if (f.device == "cuda") net->to(torch::kCUDA);
  const bool nhwc = channels_last_format(f.train_layout);
  if (nhwc) use_channels_last(*net);
  const EvalResult r = evaluate(*net, [&](at::Tensor x) { return net->forward(nhwc ? to_channels_last(x) : x); }, test,
                                f.batch_size,
                                f.device == "cuda" ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU));
  if (f.as_json) {
    std::cout << json{{"arch", f.arch}, {"weights", f.weights}, {"data", f.data}, {"images", r.images},
                      {"top1", r.top1}, {"top5", r.top5}, {"loss", r.loss}, {"images_per_s", r.images_per_s}}
                     .dump(2)
              << '\n';
    return;
  }
  char line[256];
  std::snprintf(line, sizeof line, "%s on %s (%lld test images): top-1 %s, top-5 %s, loss %.4f, %.0f images/s\n",
                f.arch.c_str(), f.data.c_str(), static_cast<long long>(r.images), percent(r.top1, 2).c_str(),
                percent(r.top5, 2).c_str(), r.loss, r.images_per_s);
  std::cout << line;
}

struct ExportFlags {
  std::string arch, weights, format = "torchscript", out;
  std::optional<int64_t> input_size, input_channels, num_classes;
  bool fold_bn = false;
};

void run_export(const ExportFlags& f) {
  DNAS_CHECK(f.format == "torchscript" || f.format == "lite" || f.format == "onnx" || f.format == "json",
             "--format: expected torchscript, lite, onnx or json, got '", f.format, "'");
#ifndef DNAS_WITH_ONNX
  DNAS_CHECK(f.format != "onnx", "--format onnx: this dnas was built without ONNX (cmake -DDNAS_WITH_ONNX=OFF)");
#endif
  ArchSpec arch = load_arch(f.arch);
  if (f.input_size) arch.input_size = *f.input_size;
  if (f.input_channels) arch.input_channels = *f.input_channels;
  if (f.num_classes) arch.num_classes = *f.num_classes;
  const std::string stem = fs::path(f.arch).stem().string();
  const std::string out =
      !f.out.empty() ? f.out
                     : stem + (f.format == "json" ? ".arch.json" : f.format == "lite" ? ".ptl" : f.format == "onnx" ? ".onnx" : ".pt");
  if (f.format == "json") {
    resolve_arch(arch, std::nullopt, f.arch);  // validate before writing
    write_text_file_atomic(out, arch_to_json(arch).dump(2) + "\n");
  } else {
    torch::manual_seed(0);
    Network net(arch);
    if (!f.weights.empty()) load_weights(*net, f.weights);
    net->eval();
#ifdef DNAS_WITH_ONNX
    if (f.format == "onnx") {
      export_onnx(*net, out, f.fold_bn);
    } else
#endif
      export_torchscript(*net, out, f.fold_bn, /*lite=*/f.format == "lite");
  }
  std::cout << "wrote " << out << (f.weights.empty() && f.format != "json" ? " (initial weights: no --weights given)" : "")
            << '\n';
}

}  // namespace

void add_train_commands(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train an architecture (a search result or a zoo model) from scratch\n"
      "SGD with momentum, warm-up then cosine or linear decay, weight decay, label smoothing, dataset\n"
      "augmentation; writes config.json, log.jsonl, last.pt, best.pt and checkpoint.pt (exact --resume).\n"
      "Examples:\n"
      "  dnas train --arch runs/mnist/arch.json --data mnist:data/mnist --recipe mnist_small --out runs/retrain\n"
      "  dnas train --arch squeezenet1_1 --data cifar10:data/cifar --recipe cifar_small --epochs 10\n"
      "Distributed (data parallel over c10d; --batch-size is per rank), e.g. one node with 8 GPUs:\n"
      "  torchrun --no-python --nproc-per-node 8 dnas train --device cuda --recipe fbnet_imagenet \\\n"
      "    --batch-size 32 ...   (8 x 32 = the recipe's 256)");
  auto f = std::make_shared<TrainFlags>(cmd);
  cmd->add_option("--recipe", f->recipe_name,
                  "A recipe (" + config_names_listed(ConfigKind::kRecipe) + ") or .json; flags override it");
  cmd->add_option("--config", f->config_file, "A config.json to start from (a recipe and flags override it)");
  cmd->add_flag("--resume", f->resume, "Continue the run in --out from its last checkpoint");
  cmd->add_flag("--json", f->as_json, "Print a JSON summary instead of progress and text");
  cmd->callback([f] { run_train_command(*f); });

  auto e = std::make_shared<EvalFlags>();
  CLI::App* eval = app.add_subcommand("eval", "Top-1, top-5, loss and images/s of trained weights on a test set");
  eval->add_option("--arch", e->arch, "Arch .json or zoo model name")->required();
  eval->add_option("--weights", e->weights, "Weights (best.pt / last.pt from dnas train)")->required();
  eval->add_option("--data", e->data, "Dataset (its test split)")->required();
  eval->add_option("--device", e->device, "cpu or cuda")->capture_default_str();
  eval->add_option("--batch-size", e->batch_size, "Batch size")->capture_default_str();
  eval->add_option("--image-size", e->image_size, "Image size for folder datasets")
      ->capture_default_str()
      ->check(in_range(data_range::image_size()));
  eval->add_option("--train-layout", e->train_layout, "nhwc (channels-last) or nchw, as dnas train")->capture_default_str();
  eval->add_option("--loader-threads", e->loader_threads, "Image folders: decoding threads (0: the core count)")
      ->capture_default_str()
      ->check(in_range(data_range::loader_threads()));
  eval->add_option("--eval-resize-ratio", e->eval_resize_ratio,
                   "Image folders: resize the short side to image-size x this, then centre-crop")
      ->capture_default_str()
      ->check(in_range(data_range::eval_resize_ratio()));
  eval->add_flag("--skip-bad-images", e->skip_bad_images, "Image folders: skip corrupt files (reported) instead of stopping");
  eval->add_flag("--json", e->as_json, "Print JSON");
  eval->callback([e] { run_eval(*e); });

  auto x = std::make_shared<ExportFlags>();
  CLI::App* exp = app.add_subcommand(
      "export",
      "Write an architecture (with its weights) as TorchScript, ONNX or arch JSON\n"
      "torchscript: a module holding the weights with a generated forward(); loads with C++\n"
      "  torch::jit::load and Python torch.jit.load without dnas. lite: the same for PyTorch Mobile.\n"
      "onnx: opset 13, checked with the ONNX checker; input 'input' (batch x C x H x W, batch\n"
      "  symbolic), output 'logits'; initializers carry the checkpoint's tensor names.\n"
      "Examples:\n"
      "  dnas export --arch runs/retrain/arch.json --weights runs/retrain/best.pt --out model.pt\n"
      "  dnas export --arch runs/retrain/arch.json --weights runs/retrain/best.pt --format onnx\n"
      "  dnas export --arch fbnet_c --fold-bn --out fbnet_c.pt");
  exp->add_option("--arch", x->arch, "Arch .json or zoo model name")->required();
  exp->add_option("--weights", x->weights, "Weights from dnas train (default: the initial weights)");
  exp->add_option("--format", x->format, "torchscript, lite (PyTorch Mobile), onnx (opset 13) or json")->capture_default_str();
  exp->add_option("--out", x->out, "Output file, written atomically (default: <arch>.pt / .ptl / .onnx / .arch.json)");
  exp->add_option("--input", x->input_size, "Input size to record (default: the arch's)");
  exp->add_option("--input-channels", x->input_channels, "Input channels (default: the arch's)");
  exp->add_option("--num-classes", x->num_classes, "Classes (default: the arch's)");
  exp->add_flag("--fold-bn", x->fold_bn, "Fold BatchNorm into the preceding convolutions");
  exp->callback([x] { run_export(*x); });
}

}  // namespace dnas::cli

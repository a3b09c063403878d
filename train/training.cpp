#include "train/training.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/archive.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "latency_lut/timing.h"
#include "ops/block_module.h"
#include "common/device.h"
#include "common/error.h"
#include "common/file_io.h"
#include "data/batch_loader.h"
#include "train/gradient_reducer.h"
#include "train/checkpoint.h"
#include "train/weights.h"
#include "common/config_reader.h"
#include "supernet/config_store.h"
#include "supernet/network.h"

namespace dnas {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Random translation by up to `pad` pixels (zero fill) per sample, and horizontal flips.
at::Tensor augment(const at::Tensor& x, int64_t pad, bool flip) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  at::Tensor out = x;
  if (pad > 0) {
    const at::Tensor padded = at::constant_pad_nd(x, {pad, pad, pad, pad}, 0);
    const at::Tensor offsets = at::randint(0, 2 * pad + 1, {n, 2}, at::kLong).contiguous();
    const int64_t* o = offsets.data_ptr<int64_t>();
    std::vector<at::Tensor> crops;
    crops.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) crops.push_back(padded[i].narrow(1, o[2 * i], h).narrow(2, o[2 * i + 1], w));
    out = at::stack(crops);
  }
  if (flip) out = at::where((at::rand({n, 1, 1, 1}, out.options()) < 0.5), out.flip({3}), out);
  return out;
}

struct Progress {
  int64_t epoch = 0, step = 0, world_size = 1;
  double loss = 0, correct = 0, seen = 0, steps = 0, best_top1 = -1, best_epoch = -1;
  template <typename F>
  void fields(F&& f) {
    f(epoch);
    f(step);
    f(world_size);
    for (auto* field : {&loss, &correct, &seen, &steps, &best_top1, &best_epoch}) f(*field);
  }
};

double learning_rate(const TrainConfig& c, int64_t epoch, int64_t step, int64_t steps) {
  const double t = static_cast<double>(epoch) + static_cast<double>(step) / static_cast<double>(steps);
  if (t < static_cast<double>(c.warmup_epochs)) return c.lr * (t + 1.0 / steps) / static_cast<double>(c.warmup_epochs);
  const double span = std::max(1e-9, static_cast<double>(c.epochs - c.warmup_epochs));
  const double progress = (t - static_cast<double>(c.warmup_epochs)) / span;
  return c.schedule == "linear" ? c.lr * (1.0 - progress) : c.lr * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace

void TrainConfig::validate() const {
  DNAS_CHECK(!arch.empty(), "--arch: required (a zoo name or an arch .json)");
  DNAS_CHECK(epochs >= 1, "--epochs: expected >= 1, got ", epochs);
  DNAS_CHECK(batch_size >= 2, "--batch-size: expected >= 2 (BatchNorm), got ", batch_size);
  DNAS_CHECK(lr > 0, "--lr: expected > 0, got ", lr);
  DNAS_CHECK(warmup_epochs >= 0 && warmup_epochs < epochs, "--warmup-epochs: expected 0..", epochs - 1, ", got ",
             warmup_epochs);
  DNAS_CHECK(schedule == "cosine" || schedule == "linear", "--schedule: expected cosine or linear, got '", schedule, "'");
  DNAS_CHECK(label_smoothing >= 0 && label_smoothing < 1, "--label-smoothing: expected [0, 1), got ", label_smoothing);
  channels_last_format(memory_format);  // throws on anything but nhwc / nchw
}

json train_config_to_json(const TrainConfig& c) {
  return {{"format", "dnas-train/1"}, {"arch", c.arch}, {"data", c.data}, {"device", c.device}, {"out", c.out},
          {"recipe", c.recipe}, {"epochs", c.epochs}, {"batch_size", c.batch_size}, {"lr", c.lr},
          {"momentum", c.momentum}, {"weight_decay", c.weight_decay}, {"nesterov", c.nesterov},
          {"warmup_epochs", c.warmup_epochs}, {"schedule", c.schedule}, {"label_smoothing", c.label_smoothing},
          {"augment", c.augment}, {"seed", c.seed}, {"threads", c.threads}, {"memory_format", c.memory_format}, {"image_size", c.image_size},
          {"max_samples", c.max_samples}, {"checkpoint_every", c.checkpoint_every}};
}

TrainConfig train_config_from_json(const json& document, const std::string& origin, TrainConfig c) {
  ConfigReader r(document, origin);
  const std::string format = r.string("format");
  if (format != "dnas-train/1" && format != "dnas-recipe/1")
    r.fail("format", "expected \"dnas-train/1\" or \"dnas-recipe/1\", got \"" + format + "\"");
  r.allow("description");
  if (r.has("description")) r.string("description");
  r.read_optional("arch", c.arch);
  r.read_optional("data", c.data);
  r.read_optional("device", c.device);
  r.read_optional("out", c.out);
  r.read_optional("recipe", c.recipe);
  r.read_optional("epochs", c.epochs);
  r.read_optional("batch_size", c.batch_size);
  r.read_optional("lr", c.lr);
  r.read_optional("momentum", c.momentum);
  r.read_optional("weight_decay", c.weight_decay);
  r.read_optional("nesterov", c.nesterov);
  r.read_optional("warmup_epochs", c.warmup_epochs);
  r.read_optional("schedule", c.schedule);
  r.read_optional("label_smoothing", c.label_smoothing);
  r.read_optional("augment", c.augment);
  r.read_optional("seed", c.seed);
  r.read_optional("threads", c.threads);
  r.read_optional("memory_format", c.memory_format);
  r.read_optional("image_size", c.image_size);
  r.read_optional("max_samples", c.max_samples);
  r.read_optional("checkpoint_every", c.checkpoint_every);
  r.finish();
  return c;
}

ArchSpec arch_for_data(ArchSpec arch, const Dataset& data) {
  DNAS_CHECK(data.height() == data.width(), "--data ", data.source, ": expected square images, got ", data.height(),
             "x", data.width());
  arch.input_size = data.height();
  arch.input_channels = data.channels();
  arch.num_classes = data.num_classes;
  return arch;
}

EvalResult evaluate(torch::nn::Module& network, const std::function<at::Tensor(at::Tensor)>& forward,
                    const Dataset& data, int64_t batch_size, c10::Device device, const World& world) {
  torch::NoGradGuard no_grad;
  network.eval();
  EvalResult result;
  // This rank's share of the test set: every world.size()-th image.
  std::vector<int64_t> all;
  for (int64_t i = world.rank(); i < data.size(); i += world.size()) all.push_back(i);
  const int64_t count = static_cast<int64_t>(all.size());
  // Every test image counts: the last partial batch is scored on its own below.
  const int64_t full = count / batch_size * batch_size;
  double seconds = 0;
  auto score = [&](const at::Tensor& images, const at::Tensor& labels) {
    const auto start = std::chrono::steady_clock::now();
    const at::Tensor logits = forward(images);
    if (device.is_cuda()) torch::cuda::synchronize();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const at::Tensor loss = torch::nn::functional::cross_entropy(
        logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    const at::Tensor top = std::get<1>(logits.topk(std::min<int64_t>(5, logits.size(1)), 1));
    const at::Tensor hit = top.eq(labels.view({-1, 1}));
    // One read from the device per batch for all three sums.
    const at::Tensor sums = at::stack({loss.to(at::kDouble), hit.select(1, 0).sum().to(at::kDouble),
                                       hit.any(1).sum().to(at::kDouble)})
                                .cpu();
    result.loss += sums[0].item<double>();
    result.top1 += sums[1].item<double>();
    result.top5 += sums[2].item<double>();
    result.images += labels.size(0);
  };
  if (full > 0) {
    BatchLoader loader(data, std::vector<int64_t>(all.begin(), all.begin() + full), batch_size, 0, 0, device);
    Batch batch;
    while (loader.next(batch)) score(batch.images, batch.labels);
  }
  if (full < count) {
    const at::Tensor index = at::tensor(std::vector<int64_t>(all.begin() + full, all.end()), at::kLong);
    const at::Tensor mean = at::tensor(data.mean, at::kFloat).view({1, -1, 1, 1});
    const at::Tensor std = at::tensor(data.std, at::kFloat).view({1, -1, 1, 1});
    const at::Tensor images = data.images.index_select(0, index).to(at::kFloat).div(255.0).sub(mean).div(std).to(device);
    score(images, data.labels.index_select(0, index).to(device));
  }
  if (world.distributed()) {
    const std::vector<double> sums = world.sum({result.loss, result.top1, result.top5,
                                                static_cast<double>(result.images), seconds});
    result.loss = sums[0], result.top1 = sums[1], result.top5 = sums[2];
    result.images = static_cast<int64_t>(sums[3]);
    seconds = sums[4] / world.size();  // the ranks score their shares at the same time
  }
  if (result.images > 0) {
    result.top1 /= static_cast<double>(result.images);
    result.top5 /= static_cast<double>(result.images);
    result.loss /= static_cast<double>(result.images);
    result.images_per_s = seconds > 0 ? static_cast<double>(result.images) / seconds : 0;
  }
  return result;
}

TrainResult run_training(const TrainConfig& config, bool resume, const std::atomic<bool>* interrupt,
                         const TrainCallbacks& callbacks) {
  check_device(config.device, "fp32", "--device");
  return run_training(config, resume, interrupt, callbacks, World::join(LaunchInfo{}, config.device));
}

TrainResult run_training(const TrainConfig& config, bool resume, const std::atomic<bool>* interrupt,
                         const TrainCallbacks& callbacks, const World& world) {
  config.validate();
  check_device(config.device, "fp32", "--device");
  DNAS_ASSERT(world.device().is_cuda() == (config.device == "cuda"), "run_training: the World's device ",
              world.device().str(), " is not the configured --device ", config.device);
  world.check_same("the training configuration", train_config_to_json(config).dump());
  const fs::path dir(config.out);
  const std::string config_path = (dir / "config.json").string(), log_path = (dir / "log.jsonl").string();
  const std::string checkpoint_path = (dir / "checkpoint.pt").string();
  std::error_code ec;
  world.on_main([&] {
    if (resume) {
      DNAS_CHECK(fs::exists(config_path, ec) && fs::exists(checkpoint_path, ec), config.out,
                 ": no training to resume here (expected config.json and checkpoint.pt)");
      const json saved = train_config_to_json(
          train_config_from_json(parse_json_text(read_text_file(config_path), config_path), config_path));
      const json now = train_config_to_json(config);
      std::string changed;
      for (const auto& item : saved.items())
        if (item.key() != "out" && item.value() != now[item.key()])
          changed += (changed.empty() ? "" : "; ") + item.key() + " " + item.value().dump() + " -> " + now[item.key()].dump();
      DNAS_CHECK(changed.empty(), "--resume: the configuration differs from ", config_path, " (", changed,
                 "); start a new --out to change it");
    } else {
      DNAS_CHECK(!fs::exists(config_path, ec), config.out,
                 ": already holds a training run (config.json); use --resume to continue it, or another --out");
    }
  });
  if (config.threads > 0) at::set_num_threads(static_cast<int>(config.threads));
  const c10::Device device = world.device();

  Dataset train = load_dataset(config.data, true, config.image_size);
  if (config.max_samples > 0 && config.max_samples < train.size()) {
    train.images = train.images.slice(0, 0, config.max_samples);
    train.labels = train.labels.slice(0, 0, config.max_samples);
  }
  const Dataset test = load_dataset(config.data, false, config.image_size);
  const ArchSpec arch = arch_for_data(load_arch(config.arch), train);
  const int64_t pad = train.name == "mnist" ? 2 : train.name == "synthetic" ? 1 : 4;
  const bool flip = train.name == "cifar10" || train.name == "cifar100" || train.name == "folder";

  torch::manual_seed(static_cast<uint64_t>(config.seed));
  Network net(arch);
  net->to(device);
  const bool nhwc = channels_last_format(config.memory_format);
  if (nhwc) use_channels_last(*net);
  auto layout = [nhwc](const at::Tensor& images) { return nhwc ? to_channels_last(images) : images; };
  const std::vector<at::Tensor> parameters = net->parameters();
  torch::optim::SGD optimizer(parameters, torch::optim::SGDOptions(config.lr)
                                                     .momentum(config.momentum)
                                                     .nesterov(config.nesterov)
                                                     .weight_decay(config.weight_decay));
  const CheckpointParts parts{{{"network", net.get()}}, {{"optimizer", &optimizer}}};
  world.on_main([&] {
    fs::create_directories(dir, ec);
    DNAS_CHECK(!ec, config.out, ": cannot create the run directory (", ec.message(), ")");
    if (!resume) {
      write_text_file_atomic(config_path, train_config_to_json(config).dump(2) + "\n");
      write_text_file_atomic(log_path, "");
      write_text_file_atomic((dir / "arch.json").string(), arch_to_json(arch).dump(2) + "\n");
    }
  });
  Progress progress;
  if (resume) {
    progress = unpack_fields<Progress>(load_checkpoint(checkpoint_path, parts), checkpoint_path);
    DNAS_CHECK(static_cast<int>(progress.world_size) == world.size(), checkpoint_path, ": written by ",
               progress.world_size, " rank(s), resumed with ", world.size(),
               "; the global batch would change, so resume with the same number of ranks");
    if (world.is_main()) truncate_jsonl(log_path, progress.epoch);
    else progress.loss = progress.correct = progress.seen = progress.steps = 0;  // rank 0 carries the sums
  }
  progress.world_size = world.size();
  auto save = [&](const Progress& p) {
    if (world.is_main()) save_checkpoint(checkpoint_path, parts, pack_fields(p));
  };
  GradientReducer reducer(world, parameters);
  // The epoch's running sums over all ranks (each rank accumulates its own shard).
  auto summed = [&](Progress p) {
    const std::vector<double> sums = world.sum({p.loss, p.correct, p.seen, p.steps});
    p.loss = sums[0], p.correct = sums[1], p.seen = sums[2], p.steps = sums[3];
    return p;
  };

  std::vector<int64_t> all(static_cast<size_t>(train.size()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  const int64_t global_batch = config.batch_size * world.size();
  const int64_t steps = train.size() / global_batch;
  DNAS_CHECK(steps >= 1, "--data ", config.data, ": fewer training images than one batch of ", global_batch,
             world.distributed() ? " (--batch-size per rank x ranks)" : "");
  const auto ce_options = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(config.label_smoothing);
  TrainResult result;
  while (progress.epoch < config.epochs) {
    const auto start = std::chrono::steady_clock::now();
    const int64_t epoch = progress.epoch;
    net->train();
    BatchLoader loader(train, all, config.batch_size, derive_seed(config.seed, epoch, 0, -1), progress.step, device,
                       Shard{world.rank(), world.size()});
    Batch batch;
    double lr = config.lr;
    while (progress.step < steps && loader.next(batch)) {
      torch::manual_seed(derive_seed(config.seed, epoch, world.rank(), progress.step));  // augmentation draws
      lr = learning_rate(config, epoch, progress.step, steps);
      for (auto& group : optimizer.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
      const at::Tensor images = layout(config.augment ? augment(batch.images, pad, flip) : batch.images);
      const at::Tensor logits = net->forward(images);
      const at::Tensor loss = torch::nn::functional::cross_entropy(logits, batch.labels, ce_options);
      descend(loss, reducer, optimizer);
      // One read from the device per step: the loss and the batch's hits together.
      const at::Tensor read =
          at::stack({loss.detach().to(at::kDouble), logits.argmax(1).eq(batch.labels).sum().to(at::kDouble)}).cpu();
      const double value = read[0].item<double>();
      DNAS_CHECK(std::isfinite(value), "loss is ", value, " at epoch ", epoch, " step ", progress.step,
                 "; stopped without saving. Lower --lr and start a new --out");
      progress.loss += value;
      progress.correct += read[1].item<double>();
      progress.seen += static_cast<double>(batch.labels.size(0));
      progress.steps += 1;
      ++progress.step;
      if (callbacks.on_step) callbacks.on_step(epoch, progress.step, steps, value);
      const bool stop = world.any(interrupt != nullptr && interrupt->load());
      if (stop || (config.checkpoint_every > 0 && progress.step % config.checkpoint_every == 0)) save(summed(progress));
      if (stop) {
        result.interrupted = true;
        return result;
      }
    }
    progress = summed(progress);
    TrainEpoch record;
    record.epoch = epoch;
    record.train_loss = progress.loss / std::max(1.0, progress.steps);
    record.train_accuracy = progress.correct / std::max(1.0, progress.seen);
    record.lr = lr;
    world.broadcast_from_main(net->buffers());  // BN statistics: rank 0's, as saved in last.pt
    record.test =
        evaluate(*net, [&](at::Tensor x) { return net->forward(layout(x)); }, test, config.batch_size, device, world);
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (world.is_main()) {
      append_jsonl(log_path, {{"epoch", epoch}, {"train_loss", record.train_loss}, {"train_accuracy", record.train_accuracy},
                              {"test_top1", record.test.top1}, {"test_top5", record.test.top5},
                              {"test_loss", record.test.loss}, {"lr", lr}, {"seconds", record.seconds}});
      save_weights(*net, (dir / "last.pt").string());
    }
    Progress next;
    next.epoch = epoch + 1;
    next.world_size = world.size();
    next.best_top1 = progress.best_top1;
    next.best_epoch = progress.best_epoch;
    if (record.test.top1 > progress.best_top1) {
      next.best_top1 = record.test.top1;
      next.best_epoch = static_cast<double>(epoch);
      if (world.is_main()) save_weights(*net, (dir / "best.pt").string());
    }
    save(next);
    progress = next;
    result.epochs.push_back(record);
    if (callbacks.on_epoch) callbacks.on_epoch(record);
  }
  result.best_top1 = progress.best_top1;
  result.best_epoch = static_cast<int64_t>(progress.best_epoch);
  return result;
}

}  // namespace dnas

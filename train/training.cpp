#include "train/training.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/sgd.h>

#include <chrono>
#include <cmath>

#include "common/device.h"
#include "common/error.h"
#include "data/augment.h"
#include "data/batch_loader.h"
#include "ops/block_module.h"
#include "supernet/config_store.h"
#include "supernet/network.h"
#include "train/gradient_reducer.h"
#include "train/run_dir.h"
#include "train/step_loop.h"
#include "train/weights.h"

namespace dnas {
namespace {

// Where a training run stands: the next (epoch, step), this epoch's running sums, and the best
// test accuracy so far. Packed into checkpoints in this order.
struct Progress {
  int64_t epoch = 0, step = 0, world_size = 1;
  PhaseSums sums;
  double best_top1 = -1, best_epoch = -1;
  template <typename F>
  void fields(F&& f) {
    f(epoch);
    f(step);
    f(world_size);
    for (double* field : {&sums.loss, &sums.correct, &sums.seen, &sums.steps, &best_top1, &best_epoch}) f(*field);
  }
};

}  // namespace

TrainResult run_training(const TrainConfig& config, bool resume, const std::atomic<bool>* interrupt,
                         const TrainCallbacks& callbacks) {
  config.validate();
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
  const RunDir run(config.out, "training run", {"log.jsonl"}, world);
  run.check(resume, train_config_fields(), config);
  if (config.threads > 0) at::set_num_threads(static_cast<int>(config.threads));
  const c10::Device device = world.device();

  Dataset train = load_dataset(config.data, true, data_options(config));
  if (config.max_samples > 0 && config.max_samples < train.size()) train = train.first(config.max_samples);
  const Dataset test = load_dataset(config.data, false, data_options(config));
  const ArchSpec arch = arch_for_data(load_arch(config.arch), train);

  torch::manual_seed(static_cast<uint64_t>(config.seed));
  Network net(arch);
  net->to(device);
  const bool nhwc = channels_last_format(config.train_layout);
  if (nhwc) use_channels_last(*net);
  auto layout = [nhwc](const at::Tensor& images) { return nhwc ? to_channels_last(images) : images; };
  const std::vector<at::Tensor> parameters = net->parameters();
  torch::optim::SGD optimizer(parameters, torch::optim::SGDOptions(config.lr)
                                                     .momentum(config.momentum)
                                                     .nesterov(config.nesterov)
                                                     .weight_decay(config.weight_decay));
  const CheckpointParts parts{{{"network", net.get()}}, {{"optimizer", &optimizer}}};
  if (!resume) {
    run.create(train_config_to_json(config));
    run.write("arch.json", arch_to_json(arch).dump(2) + "\n");
  }
  const DiscardUnsavedOnError discard_on_error(run);
  Progress progress;
  if (resume) {
    progress = unpack_fields<Progress>(run.load_checkpoint(parts), run.checkpoint_path());
    DNAS_CHECK(static_cast<int>(progress.world_size) == world.size(), run.checkpoint_path(), ": written by ",
               progress.world_size, " rank(s), resumed with ", world.size(),
               "; the global batch would change, so resume with the same number of ranks");
    run.truncate_logs(progress.epoch);
    if (!world.is_main()) progress.sums = PhaseSums{};  // rank 0 carries the sums over all ranks
  }
  progress.world_size = world.size();
  auto save = [&](Progress p) {
    p.sums = summed_over(world, p.sums);
    run.save_checkpoint(parts, pack_fields(p));
  };
  GradientReducer reducer(world, parameters);

  std::vector<int64_t> all(static_cast<size_t>(train.size()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  const int64_t global_batch = config.batch_size * world.size();
  const int64_t steps = batches_per_epoch(train.size(), config.batch_size, world.size());
  DNAS_CHECK(steps >= 1, "--data ", config.data, ": fewer training images than one batch of ", global_batch,
             world.distributed() ? " (--batch-size per rank x ranks)" : "");
  const auto ce_options = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(config.label_smoothing);
  const int64_t pad = augment_padding(train);
  const bool flip = augment_flips(train);
  StepLoop loop{world, run};
  loop.sync_every = device.is_cuda() ? 10 : 1;
  loop.checkpoint_every = config.checkpoint_every;
  loop.interrupt = interrupt;
  loop.nan_advice = "Lower --lr";

  TrainResult result;
  while (progress.epoch < config.epochs) {
    const auto start = std::chrono::steady_clock::now();
    const int64_t epoch = progress.epoch;
    net->train();
    BatchLoader loader(train, all, config.batch_size, derive_seed(config.seed, epoch, 0, -1), progress.step, device,
                       Shard{world.rank(), world.size()}, /*augment=*/config.augment);
    double lr = config.lr;
    auto step = [&](const Batch& batch, int64_t s) {
      torch::manual_seed(derive_seed(config.seed, epoch, world.rank(), s));  // augmentation draws
      lr = scheduled_learning_rate(config.lr, config.schedule, config.warmup_epochs, config.epochs, epoch, s, steps);
      set_sgd_learning_rate(optimizer, lr);
      // A streamed folder's augmentation (random resized crops, flips) happened as it was decoded.
      const bool shift_and_flip = config.augment && !train.streamed();
      const at::Tensor images = layout(shift_and_flip ? augment(batch.images, pad, flip) : batch.images);
      const at::Tensor logits = net->forward(images);
      const at::Tensor loss = torch::nn::functional::cross_entropy(logits, batch.labels, ce_options);
      descend(loss, reducer, optimizer);
      return StepResult{loss, logits.detach().argmax(1).eq(batch.labels).sum(), {}};
    };
    auto on_read = [&](int64_t s, double loss) {
      if (callbacks.on_step) callbacks.on_step(epoch, s, steps, loss);
    };
    if (!run_steps(loop, epoch, loader, progress.step, steps, progress.sums, step, on_read, [&] { save(progress); })) {
      result.interrupted = true;
      return result;
    }
    const PhaseSums sums = summed_over(world, progress.sums);
    TrainEpoch record;
    record.epoch = epoch;
    record.train_loss = sums.mean_loss();
    record.train_accuracy = sums.accuracy();
    record.lr = lr;
    record.data_wait_seconds = loader.waited_seconds();
    world.broadcast_from_main(net->buffers());  // BN statistics: rank 0's, as saved in last.pt
    if ((epoch + 1) % config.eval_every == 0 || epoch + 1 == config.epochs)
      record.test =
          evaluate(*net, [&](at::Tensor x) { return net->forward(layout(x)); }, test, config.batch_size, device, world);
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Json line = {{"epoch", epoch}, {"train_loss", record.train_loss}, {"train_accuracy", record.train_accuracy},
                 {"lr", lr}, {"seconds", record.seconds}, {"data_wait_seconds", record.data_wait_seconds}};
    if (record.test)
      line.update({{"test_top1", record.test->top1}, {"test_top5", record.test->top5}, {"test_loss", record.test->loss}});
    run.append("log.jsonl", line);
    if (world.is_main()) save_weights(*net, run.path("last.pt"));
    Progress next;
    next.epoch = epoch + 1;
    next.world_size = world.size();
    next.best_top1 = progress.best_top1;
    next.best_epoch = progress.best_epoch;
    if (record.test && record.test->top1 > progress.best_top1) {
      next.best_top1 = record.test->top1;
      next.best_epoch = static_cast<double>(epoch);
      if (world.is_main()) save_weights(*net, run.path("best.pt"));
    }
    run.save_checkpoint(parts, pack_fields(next));
    progress = next;
    result.epochs.push_back(record);
    if (callbacks.on_epoch) callbacks.on_epoch(record);
  }
  result.best_top1 = progress.best_top1;
  result.best_epoch = static_cast<int64_t>(progress.best_epoch);
  result.skipped_images = skipped_images(train);
  for (std::string& file : skipped_images(test)) result.skipped_images.push_back(std::move(file));
  return result;
}

}  // namespace dnas

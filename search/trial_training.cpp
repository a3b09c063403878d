#include "search/trial_training.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/sgd.h>

#include <chrono>

#include "common/error.h"
#include "data/augment.h"
#include "data/batch_loader.h"
#include "ops/block_module.h"
#include "supernet/network.h"
#include "train/gradient_reducer.h"
#include "train/step_loop.h"

namespace dnas {

TrialResult trial_train(const ArchSpec& arch, const Dataset& data, const std::vector<int64_t>& train_split,
                        const std::vector<int64_t>& score_split, const TrialSettings& settings, c10::Device device) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<int64_t> train = train_split;
  if (settings.images > 0 && settings.images < static_cast<int64_t>(train.size()))
    train.resize(static_cast<size_t>(settings.images));
  const int64_t steps = batches_per_epoch(static_cast<int64_t>(train.size()), settings.batch_size, 1);
  DNAS_CHECK(steps >= 1, "--select trained: ", train.size(), " training images are fewer than one batch of ",
             settings.batch_size);
  DNAS_CHECK(!score_split.empty(), "--select trained: no held-out images to score the trial runs on");

  torch::manual_seed(settings.seed);
  Network net(arch);
  net->to(device);
  if (settings.channels_last) use_channels_last(*net);
  auto layout = [&](const at::Tensor& images) { return settings.channels_last ? to_channels_last(images) : images; };
  const std::vector<at::Tensor> parameters = net->parameters();
  torch::optim::SGD optimizer(parameters, torch::optim::SGDOptions(settings.lr)
                                              .momentum(settings.momentum)
                                              .weight_decay(settings.weight_decay));
  GradientReducer reducer(World(), parameters);
  const auto ce_options = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(0.1);
  const int64_t pad = augment_padding(data);
  const bool flip = augment_flips(data);
  const int64_t seed = static_cast<int64_t>(settings.seed);

  net->train();
  for (int64_t epoch = 0; epoch < settings.epochs; ++epoch) {
    BatchLoader loader(data, train, settings.batch_size, derive_seed(seed, epoch, 7, -1), 0, device, Shard{},
                       /*augment=*/true);
    Batch batch;
    for (int64_t s = 0; s < steps && loader.next(batch); ++s) {
      torch::manual_seed(derive_seed(seed, epoch, 7, s));  // augmentation draws
      set_sgd_learning_rate(optimizer,
                            scheduled_learning_rate(settings.lr, "cosine", 0, settings.epochs, epoch, s, steps));
      const at::Tensor images = layout(data.streamed() ? batch.images : augment(batch.images, pad, flip));
      const at::Tensor loss = torch::nn::functional::cross_entropy(net->forward(images), batch.labels, ce_options);
      descend(loss, reducer, optimizer);
    }
  }

  torch::NoGradGuard no_grad;
  net->eval();
  BatchLoader loader(data, score_split, settings.batch_size, derive_seed(seed, -1, 7, -1), 0, device);
  Batch batch;
  at::Tensor correct = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device));
  at::Tensor loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device));
  const auto sum_options = torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum);
  double seen = 0;
  while (loader.next(batch)) {
    const at::Tensor logits = net->forward(layout(batch.images));
    correct += logits.argmax(1).eq(batch.labels).sum();
    loss_sum += torch::nn::functional::cross_entropy(logits, batch.labels, sum_options).to(at::kDouble);
    seen += static_cast<double>(batch.labels.size(0));
  }
  TrialResult result;
  result.accuracy = seen > 0 ? static_cast<double>(correct.item<int64_t>()) / seen : 0;
  result.loss = seen > 0 ? loss_sum.item<double>() / seen : 0;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace dnas

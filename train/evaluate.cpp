#include "train/evaluate.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>

#include <chrono>
#include <vector>

#include "common/error.h"
#include "data/batch_loader.h"

namespace dnas {

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
    const at::Tensor images = data.normalized(index).to(device);
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

}  // namespace dnas

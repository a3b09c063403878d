#include "search/derivation.h"

#include <ATen/ATen.h>

#include "data/batch_loader.h"
#include "ops/block_module.h"

namespace dnas {

double supernet_accuracy(Supernet& net, const ArchSample& sample, const Dataset& data, const std::vector<int64_t>& split,
                         int64_t batch_size, uint64_t order_seed, bool channels_last) {
  torch::NoGradGuard no_grad;
  net->train();
  const c10::Device device = net->parameters().front().device();
  BatchLoader loader(data, split, batch_size, order_seed, 0, device);
  Batch batch;
  at::Tensor correct = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device));
  double seen = 0;
  while (loader.next(batch)) {
    const at::Tensor images = channels_last ? to_channels_last(batch.images) : batch.images;
    correct += net->forward(images, sample).argmax(1).eq(batch.labels).sum();
    seen += static_cast<double>(batch.labels.size(0));
  }
  return seen > 0 ? static_cast<double>(correct.item<int64_t>()) / seen : 0;
}

}  // namespace dnas

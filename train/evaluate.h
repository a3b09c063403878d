// Scoring a network on a dataset: top-1, top-5, loss and images/s over every image (the last
// partial batch included), in eval mode and without gradients. Distributed, each rank scores every
// world.size()-th image and the sums are combined, so every rank returns the same result.
#pragma once

#include <cstdint>
#include <functional>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include "data/dataset.h"
#include "supernet/arch_spec.h"
#include "train/distributed.h"

namespace dnas {

struct EvalResult {
  double top1 = 0, top5 = 0, loss = 0, images_per_s = 0;
  int64_t images = 0;
};

EvalResult evaluate(torch::nn::Module& network, const std::function<at::Tensor(at::Tensor)>& forward,
                    const Dataset& data, int64_t batch_size, c10::Device device, const World& world = World());

// The arch with its input and classifier adapted to the dataset (square images only).
ArchSpec arch_for_data(ArchSpec arch, const Dataset& data);

}  // namespace dnas

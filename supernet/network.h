// A concrete network built from an arch: stem, layers and head as three Sequentials of the blocks
// make_block() creates (checkpoint keys look like "layers.3.dw.conv.weight"). forward maps
// N x C x H x W images to N x num_classes logits.
//
// Weights are initialised as the reference implementations do:
//   kaiming_fan_out (torchvision MobileNetV2, mobile-vision FBNet): conv weights kaiming-normal
//     (fan_out, ReLU gain), conv biases 0, BN gamma 1 / beta 0, linear N(0, 0.01) with bias 0;
//   squeezenet (torchvision SqueezeNet): conv weights kaiming-uniform (fan_in, ReLU gain), biases 0,
//     and the final (classifier) conv N(0, 0.01).
#pragma once

#include <cstdint>
#include <optional>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include "supernet/arch_spec.h"

namespace dnas {

class NetworkImpl : public torch::nn::Module {
 public:
  // Throws dnas::Error if the arch cannot be resolved at `input_size` (default: the arch's).
  explicit NetworkImpl(const ArchSpec& arch, std::optional<int64_t> input_size = std::nullopt);
  torch::Tensor forward(torch::Tensor x);

  const ResolvedArch& resolved() const { return resolved_; }

  torch::nn::Sequential stem{nullptr}, layers{nullptr}, head{nullptr};

 private:
  ResolvedArch resolved_;
};
TORCH_MODULE(Network);

void init_weights(torch::nn::Module& network, InitScheme scheme);

// Number of trainable parameter elements.
int64_t count_parameters(const torch::nn::Module& module);

}  // namespace dnas

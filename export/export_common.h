// What the exporters (TorchScript, ONNX) share: a network's tensors looked up by their native
// names ("layers.3.dw.conv.weight"), and a convolution's weight and bias with its BatchNorm
// optionally folded in (inference only: w' = w * g / sqrt(var + eps), b' = beta + (b - mean) * g /
// sqrt(var + eps)).
#pragma once

#include <map>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include "ops/block_plan.h"

namespace dnas {

constexpr double kBatchNormEps = 1e-5;  // every BatchNorm2d dnas builds uses PyTorch's default

class NamedTensors {
 public:
  explicit NamedTensors(const torch::nn::Module& module);
  // `name` may start with '.' (a lone block exported without a prefix). Asserts the name exists:
  // the exporters derive names from the same plans that built the module.
  const at::Tensor& at(std::string name) const;

 private:
  std::map<std::string, at::Tensor> tensors_;
};

struct ConvWeights {
  at::Tensor weight;
  at::Tensor bias;  // undefined when the conv has none and no BN was folded into it
  bool bn_folded = false;
};

// The weights of the ConvNormAct module `prefix` built from `plan`; folds its BN when `fold_bn`.
ConvWeights conv_weights(const NamedTensors& tensors, const ConvPlan& plan, const std::string& prefix, bool fold_bn);

}  // namespace dnas

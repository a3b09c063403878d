// What the exporters (TorchScript, ONNX) share. Both walk a block's plan (ops/block_plan.h) step by
// step and look its weights up by their native names ("layers.3.dw.conv.weight"). With fold_bn, a
// BatchNorm that directly follows a convolution (and is the only reader of its output) is folded
// into the convolution's weight and bias (inference only: w' = w * g / sqrt(var + eps),
// b' = beta + (b - mean) * g / sqrt(var + eps)), and the BN step emits nothing.
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

// True when step `index` of `plan` is a BN that folds into the conv right before it.
bool bn_folds_into_conv(const BlockPlan& plan, size_t index);

struct ConvWeights {
  at::Tensor weight;
  at::Tensor bias;  // undefined when the conv has none and no BN was folded into it
};

// The weights of conv step `index` of `plan`, whose tensors live under `prefix` ("layers.3"; ""
// for a lone block); folds the following BN in when `fold_bn` and bn_folds_into_conv().
ConvWeights conv_weights(const NamedTensors& tensors, const BlockPlan& plan, size_t index, const std::string& prefix,
                         bool fold_bn);

// "<prefix>.<module>.<tensor>", or "<module>.<tensor>" without a prefix.
std::string tensor_name(const std::string& prefix, const std::string& module, const char* tensor);

}  // namespace dnas

#include "export/export_common.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace dnas {

NamedTensors::NamedTensors(const torch::nn::Module& module) {
  for (const auto& p : module.named_parameters()) tensors_[p.key()] = p.value().detach();
  for (const auto& b : module.named_buffers()) tensors_[b.key()] = b.value().detach();
}

const at::Tensor& NamedTensors::at(std::string name) const {
  if (!name.empty() && name[0] == '.') name.erase(0, 1);
  auto it = tensors_.find(name);
  TORCH_INTERNAL_ASSERT(it != tensors_.end(), "export: no tensor named ", name);
  return it->second;
}

ConvWeights conv_weights(const NamedTensors& tensors, const ConvPlan& plan, const std::string& prefix, bool fold_bn) {
  ConvWeights w;
  w.weight = tensors.at(prefix + ".conv.weight");
  if (plan.bias) w.bias = tensors.at(prefix + ".conv.bias");
  if (!fold_bn || !plan.batch_norm) return w;
  const at::Tensor scale =
      tensors.at(prefix + ".bn.weight") / (tensors.at(prefix + ".bn.running_var") + kBatchNormEps).sqrt();
  const at::Tensor base = w.bias.defined() ? w.bias : at::zeros_like(scale);
  w.weight = w.weight * scale.view({-1, 1, 1, 1});
  w.bias = tensors.at(prefix + ".bn.bias") + (base - tensors.at(prefix + ".bn.running_mean")) * scale;
  w.bn_folded = true;
  return w;
}

}  // namespace dnas

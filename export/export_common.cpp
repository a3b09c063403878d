#include "export/export_common.h"

#include <ATen/ATen.h>

#include "common/error.h"

namespace dnas {

NamedTensors::NamedTensors(const torch::nn::Module& module) {
  for (const auto& p : module.named_parameters()) tensors_[p.key()] = p.value().detach();
  for (const auto& b : module.named_buffers()) tensors_[b.key()] = b.value().detach();
}

const at::Tensor& NamedTensors::at(std::string name) const {
  if (!name.empty() && name[0] == '.') name.erase(0, 1);
  auto it = tensors_.find(name);
  DNAS_ASSERT(it != tensors_.end(), "export: no tensor named ", name);
  return it->second;
}

bool bn_folds_into_conv(const BlockPlan& plan, size_t index) {
  if (index == 0 || index >= plan.steps.size()) return false;
  const Step& bn = plan.steps[index];
  const Step& conv = plan.steps[index - 1];
  return bn.kind == StepKind::kBatchNorm && conv.kind == StepKind::kConv && bn.inputs[0] == static_cast<int>(index) &&
         plan.uses()[index] == 1;
}

std::string tensor_name(const std::string& prefix, const std::string& module, const char* tensor) {
  return (prefix.empty() ? "" : prefix + ".") + module + "." + tensor;
}

ConvWeights conv_weights(const NamedTensors& tensors, const BlockPlan& plan, size_t index, const std::string& prefix,
                         bool fold_bn) {
  const Step& conv = plan.steps[index];
  ConvWeights w;
  w.weight = tensors.at(tensor_name(prefix, conv.module, "weight"));
  if (conv.bias) w.bias = tensors.at(tensor_name(prefix, conv.module, "bias"));
  if (!fold_bn || !bn_folds_into_conv(plan, index + 1)) return w;
  const std::string& bn = plan.steps[index + 1].module;
  const at::Tensor scale = tensors.at(tensor_name(prefix, bn, "weight")) /
                           (tensors.at(tensor_name(prefix, bn, "running_var")) + kBatchNormEps).sqrt();
  const at::Tensor base = w.bias.defined() ? w.bias : at::zeros_like(scale);
  w.weight = w.weight * scale.view({-1, 1, 1, 1});
  w.bias = tensors.at(tensor_name(prefix, bn, "bias")) + (base - tensors.at(tensor_name(prefix, bn, "running_mean"))) * scale;
  return w;
}

}  // namespace dnas

#include "supernet/mixed_op.h"

#include <ATen/ops/one_hot.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/zeros.h>

#include <vector>

#include "ops/block_module.h"
#include "common/error.h"
#include "ops/registry.h"
#include "supernet/shared_convs.h"

namespace dnas {

torch::Tensor gumbel_softmax_weights(const torch::Tensor& theta, double tau, SampleMode mode, NoiseScope scope,
                                     int64_t batch) {
  const int64_t k = theta.size(0);
  const bool per_sample = mode == SampleMode::kSoft && scope == NoiseScope::kPerSample;
  const torch::Tensor uniform = at::rand(per_sample ? std::vector<int64_t>{batch, k} : std::vector<int64_t>{k},
                                         at::TensorOptions().dtype(theta.scalar_type()))
                                    .to(theta.device());
  const torch::Tensor gumbel = -(-(uniform + 1e-20).log() + 1e-20).log();
  return ((theta + gumbel) / tau).softmax(-1);
}

LayerSample straight_through_sample(const torch::Tensor& soft, const torch::Tensor& index_on_device, int64_t index) {
  LayerSample sample;
  sample.index = index;
  const torch::Tensor hard = at::one_hot(index_on_device.to(torch::kLong), soft.size(-1)).to(soft.dtype());
  sample.weights = hard - soft.detach() + soft;  // straight-through
  return sample;
}

LayerSample sample_layer(const torch::Tensor& theta, double tau, SampleMode mode, NoiseScope scope, int64_t batch) {
  const torch::Tensor soft = gumbel_softmax_weights(theta, tau, mode, scope, batch);
  if (mode == SampleMode::kSoft) return LayerSample{soft, -1};
  const torch::Tensor index = soft.argmax(-1);
  return straight_through_sample(soft, index, index.item<int64_t>());
}

LayerSample one_hot_sample(int64_t candidates, int64_t index, const torch::Device& device) {
  LayerSample sample;
  sample.index = index;
  sample.weights = at::zeros({candidates}, at::TensorOptions().device(device));
  sample.weights[index] = 1.0;
  return sample;
}

MixedOpImpl::MixedOpImpl(const std::vector<std::string>& candidate_keys, const std::vector<BlockArgs>& candidate_args,
                         WeightSharing sharing)
    : keys_(candidate_keys) {
  DNAS_CHECK(!keys_.empty() && keys_.size() == candidate_args.size(), "MixedOp: expected one BlockArgs per candidate");
  // Planned first: nested sharing needs every candidate's plan before any block is built.
  std::vector<std::string> descriptions;
  for (size_t i = 0; i < keys_.size(); ++i) {
    const OpDef& op = OpRegistry::builtin().at(keys_[i], "MixedOp");
    plans_.push_back(plan_block(op, candidate_args[i]));
    descriptions.push_back(describe_block(op, candidate_args[i]));
  }
  candidates = register_module("candidates", torch::nn::ModuleList());
  std::unique_ptr<SharedConvs> shared;
  if (sharing == WeightSharing::kNested) shared = std::make_unique<SharedConvs>(plans_, *this);
  for (size_t i = 0; i < keys_.size(); ++i) {
    lent_.push_back(shared ? shared->source(i) : nullptr);
    torch::nn::AnyModule block(Block(plans_[i], descriptions[i], lent_.back()));
    candidates->push_back(block.ptr());
    blocks_.push_back(std::move(block));
  }
  // Uniform start: equal logits give equal probabilities.
  theta = register_parameter("theta", at::zeros({static_cast<int64_t>(keys_.size())}));
}

std::vector<std::pair<std::string, torch::Tensor>> MixedOpImpl::candidate_state(size_t candidate) const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  const torch::nn::Module& block = *blocks_.at(candidate).ptr();
  for (const auto& p : block.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : block.named_buffers()) out.emplace_back(b.key(), b.value());
  const std::shared_ptr<const ConvWeightSource>& lent = lent_.at(candidate);
  const std::vector<Step>& steps = plans_.at(candidate).steps;
  for (size_t i = 0; lent && i < steps.size(); ++i)
    if (lent->lends(i)) out.emplace_back(steps[i].module + ".weight", lent->weight(i));
  return out;
}

torch::Tensor MixedOpImpl::forward(torch::Tensor x, const LayerSample& sample) {
  if (sample.index >= 0) {
    // Hard: only the sampled path runs; the straight-through weight (value 1) carries theta's gradient.
    return blocks_[static_cast<size_t>(sample.index)].forward(x) * sample.weights[sample.index];
  }
  torch::Tensor sum;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const torch::Tensor w = sample.weights.dim() == 1 ? sample.weights[static_cast<int64_t>(i)]
                                                      : sample.weights.select(1, static_cast<int64_t>(i)).view({-1, 1, 1, 1});
    const torch::Tensor term = blocks_[i].forward(x) * w;
    sum = sum.defined() ? sum + term : term;
  }
  return sum;
}

}  // namespace dnas

// One searchable layer of a supernet: its candidate blocks and its architecture logits theta.
//
// A LayerSample says how the layer runs this step:
//   soft  (FBNet)  weights = gumbel_softmax(theta / tau), shape [K] (one noise draw per batch) or
//                  [N, K] (per sample); every candidate runs and the outputs are summed, weighted.
//   hard  (GDAS / ProxylessNAS)  a one-hot sample `index` with straight-through weights
//                  (value one-hot, gradient of the soft weights); only the sampled candidate runs,
//                  forward and backward, and its output is scaled by the (unit) weight so theta
//                  still receives a gradient.
// Candidate modules are registered as "candidates.<i>" in space order; theta as "theta"; with
// nested weight sharing (shared_convs.h) the shared conv weights as "shared.<path>" (e.g.
// "shared.dw_conv"), and the candidates keep only what is theirs alone (BatchNorm, SE, biases).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "ops/block_module.h"
#include "ops/block_plan.h"
#include "ops/op_def.h"

namespace dnas {

enum class SampleMode { kSoft, kHard };
enum class NoiseScope { kPerBatch, kPerSample };
// separate: every candidate has its own weights (FBNet); nested: candidates share their convs'
// weights, the smaller a slice of the larger (shared_convs.h).
enum class WeightSharing { kSeparate, kNested };

struct LayerSample {
  torch::Tensor weights;  // [K] or [N, K] (soft); [K] straight-through one-hot (hard)
  int64_t index = -1;     // hard: the sampled candidate
};

// Gumbel-softmax weights softmax((theta + g) / tau) of `theta` [K], [K] or [batch, K] (per-sample
// noise in soft mode). The uniform noise is drawn from the global CPU generator and copied to
// theta's device, so a seeded step draws the same sample on a CPU and on a GPU.
torch::Tensor gumbel_softmax_weights(const torch::Tensor& theta, double tau, SampleMode mode, NoiseScope scope,
                                     int64_t batch);
// The hard sample of soft weights `soft` [K] whose argmax is `index_on_device` (a scalar tensor on
// the weights' device) and `index` (the same value on the host): straight-through one-hot weights.
LayerSample straight_through_sample(const torch::Tensor& soft, const torch::Tensor& index_on_device, int64_t index);
// Gumbel-softmax sample of `theta` [K] at temperature `tau`, using the global RNG (one layer; the
// supernet samples every layer at once, with one host sync for all the hard indices).
LayerSample sample_layer(const torch::Tensor& theta, double tau, SampleMode mode, NoiseScope scope, int64_t batch);
// The deterministic one-hot sample of candidate `index` (for evaluating a fixed choice).
LayerSample one_hot_sample(int64_t candidates, int64_t index, const torch::Device& device);

class MixedOpImpl : public torch::nn::Module {
 public:
  // `candidates[i]` is the block of op keys[i] at args[i] (as make_block builds it, less the conv
  // weights nested sharing lends it); all map the same input to the same shape.
  MixedOpImpl(const std::vector<std::string>& candidate_keys, const std::vector<BlockArgs>& candidate_args,
              WeightSharing sharing = WeightSharing::kSeparate);
  torch::Tensor forward(torch::Tensor x, const LayerSample& sample);

  // Candidate i's weights and buffers as a standalone block of its op (make_block) names them,
  // shared slices included: what the candidate computes with, e.g. to load into that block.
  std::vector<std::pair<std::string, torch::Tensor>> candidate_state(size_t candidate) const;

  const std::vector<std::string>& candidate_keys() const { return keys_; }
  torch::Tensor theta;
  torch::nn::ModuleList candidates{nullptr};

 private:
  std::vector<std::string> keys_;
  std::vector<BlockPlan> plans_;
  std::vector<std::shared_ptr<const ConvWeightSource>> lent_;  // per candidate; null when separate
  std::vector<torch::nn::AnyModule> blocks_;
};
TORCH_MODULE(MixedOp);

}  // namespace dnas

// The stochastic supernet of a search space: the space's fixed stem and head around one MixedOp
// per searchable layer. One call to sample() draws the architecture of a step for every layer at
// once (callers seed the global RNG per step, so a step's sample is reproducible and identical on
// every rank); forward() runs it; expected_latency_us() is sum_l sum_i w_{l,i} * LAT_{l,i}, which
// is differentiable in theta through the same weights.
//
// Parameters split into architecture logits (every "*.theta") and weights (everything else).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include "supernet/mixed_op.h"
#include "supernet/space_spec.h"

namespace dnas {

using ArchSample = std::vector<LayerSample>;

class SupernetImpl : public torch::nn::Module {
 public:
  // `sharing`: whether each layer's candidates share their conv weights (mixed_op.h).
  explicit SupernetImpl(const SearchSpace& space, std::optional<int64_t> input_size = std::nullopt,
                        WeightSharing sharing = WeightSharing::kSeparate);

  ArchSample sample(double tau, SampleMode mode, NoiseScope scope, int64_t batch) const;
  // The one-hot sample of argmax(theta) per layer.
  ArchSample argmax_sample() const;
  torch::Tensor forward(torch::Tensor x, const ArchSample& sample);

  // latency_us[l]: the table latencies of layer l's candidates, a [K] tensor on the weights'
  // device (built once per run); fixed_us: stem + head.
  torch::Tensor expected_latency_us(const ArchSample& sample, const std::vector<torch::Tensor>& latency_us,
                                    double fixed_us) const;

  std::vector<torch::Tensor> theta_parameters() const;
  std::vector<torch::Tensor> weight_parameters() const;
  std::vector<std::vector<double>> theta_values() const;
  std::vector<std::vector<double>> probabilities() const;
  std::vector<std::string> argmax_choices() const;
  // Mean over layers of the entropy of softmax(theta), in nats.
  double mean_entropy() const;

  const ResolvedSpace& resolved() const { return resolved_; }
  size_t num_layers() const { return layers_.size(); }

  torch::nn::Sequential stem{nullptr}, head{nullptr};
  torch::nn::ModuleList layers{nullptr};

 private:
  ResolvedSpace resolved_;
  std::vector<MixedOp> layers_;
};
TORCH_MODULE(Supernet);

}  // namespace dnas

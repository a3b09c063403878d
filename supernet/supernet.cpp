#include "supernet/supernet.h"

#include <cmath>

#include <ATen/ops/stack.h>

#include "ops/block_module.h"
#include "ops/registry.h"
#include "supernet/network.h"

namespace dnas {

SupernetImpl::SupernetImpl(const SearchSpace& space, std::optional<int64_t> input_size, WeightSharing sharing)
    : resolved_(resolve_space(space, input_size, space.name)) {
  stem = register_module("stem", torch::nn::Sequential());
  head = register_module("head", torch::nn::Sequential());
  layers = register_module("layers", torch::nn::ModuleList());
  const OpRegistry& registry = OpRegistry::builtin();
  for (const ResolvedLayer& l : resolved_.stem) stem->push_back(make_block(registry.at(l.spec.op, l.label()), l.args));
  for (const ResolvedSpaceLayer& l : resolved_.layers) {
    std::vector<std::string> keys;
    std::vector<BlockArgs> args;
    for (const CandidateCost& c : l.candidates) {
      keys.push_back(c.op);
      args.push_back(c.args);
    }
    layers_.push_back(MixedOp(keys, args, sharing));
    layers->push_back(layers_.back());
  }
  for (const ResolvedLayer& l : resolved_.head) head->push_back(make_block(registry.at(l.spec.op, l.label()), l.args));
  init_weights(*this, InitScheme::kKaimingFanOut);
}

namespace {

// argmax of every tensor, read to the host in one transfer (one device sync for all layers).
std::vector<int64_t> argmax_each(const std::vector<torch::Tensor>& tensors, std::vector<torch::Tensor>* on_device) {
  std::vector<torch::Tensor> indices;
  for (const torch::Tensor& t : tensors) indices.push_back(t.argmax(-1));
  if (on_device != nullptr) *on_device = indices;
  if (indices.empty()) return {};
  const torch::Tensor host = at::stack(indices).to(torch::kCPU, torch::kLong).contiguous();
  return std::vector<int64_t>(host.data_ptr<int64_t>(), host.data_ptr<int64_t>() + host.numel());
}

}  // namespace

ArchSample SupernetImpl::sample(double tau, SampleMode mode, NoiseScope scope, int64_t batch) const {
  std::vector<torch::Tensor> soft;
  for (const MixedOp& layer : layers_) soft.push_back(gumbel_softmax_weights(layer->theta, tau, mode, scope, batch));
  ArchSample out;
  if (mode == SampleMode::kSoft) {
    for (torch::Tensor& w : soft) out.push_back(LayerSample{std::move(w), -1});
    return out;
  }
  std::vector<torch::Tensor> on_device;
  const std::vector<int64_t> indices = argmax_each(soft, &on_device);
  for (size_t l = 0; l < soft.size(); ++l) out.push_back(straight_through_sample(soft[l], on_device[l], indices[l]));
  return out;
}

ArchSample SupernetImpl::argmax_sample() const {
  const std::vector<int64_t> indices = argmax_each(theta_parameters(), nullptr);
  ArchSample out;
  for (size_t l = 0; l < layers_.size(); ++l)
    out.push_back(one_hot_sample(layers_[l]->theta.size(0), indices[l], layers_[l]->theta.device()));
  return out;
}

torch::Tensor SupernetImpl::forward(torch::Tensor x, const ArchSample& sample) {
  if (!stem->is_empty()) x = stem->forward(x);
  for (size_t l = 0; l < layers_.size(); ++l) x = layers_[l]->forward(x, sample[l]);
  if (!head->is_empty()) x = head->forward(x);
  return x.flatten(1);
}

torch::Tensor SupernetImpl::expected_latency_us(const ArchSample& sample, const std::vector<torch::Tensor>& latency_us,
                                                double fixed_us) const {
  torch::Tensor total;
  for (size_t l = 0; l < layers_.size(); ++l) {
    torch::Tensor weights = sample[l].weights;
    if (weights.dim() == 2) weights = weights.mean(0);  // per-sample noise: the batch's expectation
    const torch::Tensor layer = (weights * latency_us[l]).sum();
    total = total.defined() ? total + layer : layer;
  }
  return total + fixed_us;
}

std::vector<torch::Tensor> SupernetImpl::theta_parameters() const {
  std::vector<torch::Tensor> out;
  for (const MixedOp& layer : layers_) out.push_back(layer->theta);
  return out;
}

std::vector<torch::Tensor> SupernetImpl::weight_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : named_parameters())
    if (p.key().size() < 6 || p.key().compare(p.key().size() - 6, 6, ".theta") != 0) out.push_back(p.value());
  return out;
}

std::vector<std::vector<double>> SupernetImpl::theta_values() const {
  std::vector<std::vector<double>> out;
  for (const MixedOp& layer : layers_) {
    const torch::Tensor t = layer->theta.detach().to(torch::kCPU, torch::kDouble).contiguous();
    out.emplace_back(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
  }
  return out;
}

std::vector<std::vector<double>> SupernetImpl::probabilities() const {
  std::vector<std::vector<double>> out;
  for (const MixedOp& layer : layers_) {
    const torch::Tensor p = layer->theta.detach().softmax(0).to(torch::kCPU, torch::kDouble).contiguous();
    out.emplace_back(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
  }
  return out;
}

std::vector<std::string> SupernetImpl::argmax_choices() const {
  const std::vector<int64_t> indices = argmax_each(theta_parameters(), nullptr);
  std::vector<std::string> out;
  for (size_t l = 0; l < layers_.size(); ++l) out.push_back(layers_[l]->candidate_keys()[static_cast<size_t>(indices[l])]);
  return out;
}

double SupernetImpl::mean_entropy() const {
  double total = 0;
  for (const std::vector<double>& p : probabilities())
    for (double q : p) total -= q > 0 ? q * std::log(q) : 0.0;
  return layers_.empty() ? 0.0 : total / static_cast<double>(layers_.size());
}

}  // namespace dnas

#include "supernet/shared_convs.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <torch/nn/init.h>

#include <algorithm>
#include <map>
#include <utility>

namespace dnas {
namespace {

// Where one candidate's conv step sits in a shared weight.
struct Slice {
  size_t weight = 0;
  int64_t out = 0, in = 0, groups = 1, kernel = 1;
  bool depthwise = false;
  int64_t shuffle = 0;  // > 1: a channel shuffle over this many groups follows (see slice_of)
};

bool is_depthwise(const Step& s) { return s.groups == s.in_channels && s.groups == s.out_channels; }

bool shareable(const Step& s) {
  return s.kind == StepKind::kConv && !s.bias && s.kernel % 2 == 1 && s.padding == s.kernel / 2 && !s.module.empty();
}

// Convs with the same key may share one weight.
std::string share_key(const Step& s) {
  return s.module + (is_depthwise(s) ? "|dw" : "|full") + "|s" + std::to_string(s.stride);
}

// The groups of the channel shuffle that conv step `step`'s output reaches through per-channel
// steps (BatchNorm, activation) that nothing else reads; 0 when there is none.
int64_t shuffle_after(const BlockPlan& plan, size_t step) {
  const std::vector<int> uses = plan.uses();
  int value = static_cast<int>(step) + 1;
  for (size_t i = step + 1; i < plan.steps.size(); ++i) {
    const Step& s = plan.steps[i];
    if (s.inputs.size() != 1 || s.inputs[0] != value || uses[static_cast<size_t>(value)] != 1) continue;
    if (s.kind == StepKind::kShuffle) return s.groups;
    if (s.kind != StepKind::kBatchNorm && s.kind != StepKind::kActivation) return 0;
    value = static_cast<int>(i) + 1;
  }
  return 0;
}

torch::Tensor slice_of(const torch::Tensor& shared, const Slice& s) {
  torch::Tensor w = shared.narrow(0, 0, s.out);
  if (s.shuffle > 1) {
    // A shuffle moves filter o to channel p(o) = (o mod out/g) * g + o / (out/g); the layer's other
    // candidates read channel p with shared filter p, so filter o here is shared filter p(o).
    const int64_t per_group = s.out / s.shuffle;
    const torch::Tensor o = at::arange(s.out, at::TensorOptions().dtype(at::kLong).device(shared.device()));
    w = w.index_select(0, o.remainder(per_group) * s.shuffle + o.div(per_group, "floor"));
  }
  if (!s.depthwise && s.groups == 1) {
    w = w.narrow(1, 0, s.in);
  } else if (!s.depthwise) {
    const int64_t out = s.out / s.groups, in = s.in / s.groups;
    std::vector<torch::Tensor> blocks;
    for (int64_t j = 0; j < s.groups; ++j) blocks.push_back(w.narrow(0, j * out, out).narrow(1, j * in, in));
    w = at::cat(blocks, 0);
  }
  const int64_t offset = (shared.size(2) - s.kernel) / 2;
  return w.narrow(2, offset, s.kernel).narrow(3, offset, s.kernel);
}

class CandidateConvs : public ConvWeightSource {
 public:
  CandidateConvs(std::vector<torch::Tensor> weights, std::map<size_t, Slice> slices)
      : weights_(std::move(weights)), slices_(std::move(slices)) {}
  bool lends(size_t step) const override { return slices_.count(step) != 0; }
  torch::Tensor weight(size_t step) const override {
    const Slice& s = slices_.at(step);
    return slice_of(weights_[s.weight], s);
  }

 private:
  std::vector<torch::Tensor> weights_;  // handles of the shared parameters
  std::map<size_t, Slice> slices_;      // by step index
};

std::string parameter_name(const std::string& module_path) {
  std::string name = module_path;
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

}  // namespace

SharedConvs::SharedConvs(const std::vector<BlockPlan>& plans, torch::nn::Module& owner) {
  // Which (candidate, step) pairs fall under each key, in the order keys first appear.
  std::vector<std::string> keys;
  std::map<std::string, std::vector<std::pair<size_t, size_t>>> members;
  for (size_t c = 0; c < plans.size(); ++c)
    for (size_t i = 0; i < plans[c].steps.size(); ++i) {
      const Step& s = plans[c].steps[i];
      if (!shareable(s)) continue;
      const std::string key = share_key(s);
      if (members.count(key) == 0) keys.push_back(key);
      members[key].emplace_back(c, i);
    }

  std::vector<std::map<size_t, Slice>> slices(plans.size());
  std::shared_ptr<torch::nn::Module> holder;
  std::map<std::string, int> names_used;
  for (const std::string& key : keys) {
    const auto& group = members[key];
    if (group.size() < 2) continue;
    const Step& first = plans[group[0].first].steps[group[0].second];
    const bool depthwise = is_depthwise(first);
    int64_t out = 0, in = 0, kernel = 0;
    for (const auto& [c, i] : group) {
      const Step& s = plans[c].steps[i];
      out = std::max(out, s.out_channels);
      in = std::max(in, s.in_channels);
      kernel = std::max(kernel, s.kernel);
    }
    torch::Tensor weight = at::empty({out, depthwise ? 1 : in, kernel, kernel});
    {
      torch::NoGradGuard no_grad;
      torch::nn::init::kaiming_normal_(weight, 0, torch::kFanOut, torch::kReLU);
    }
    if (!holder) holder = owner.register_module("shared", std::make_shared<torch::nn::Module>("SharedConvs"));
    std::string name = parameter_name(first.module);
    if (const int n = names_used[name]++; n > 0) name += "_" + std::to_string(n + 1);
    weights_.push_back(holder->register_parameter(name, weight));
    for (const auto& [c, i] : group) {
      const Step& s = plans[c].steps[i];
      slices[c][i] = Slice{weights_.size() - 1, s.out_channels, s.in_channels, s.groups, s.kernel, depthwise,
                           shuffle_after(plans[c], i)};
    }
  }
  for (auto& candidate : slices) sources_.push_back(std::make_shared<CandidateConvs>(weights_, std::move(candidate)));
}

}  // namespace dnas

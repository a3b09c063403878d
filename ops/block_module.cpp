#include "ops/block_module.h"

#include <ATen/ops/adaptive_avg_pool2d.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/dropout.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/hardsigmoid.h>
#include <ATen/ops/hardswish.h>
#include <ATen/ops/hardtanh.h>
#include <ATen/ops/max_pool2d.h>
#include <torch/nn/modules/container/any.h>

#include <ostream>

#include "common/error.h"
#include "ops/mac_tally.h"
#include "ops/shift.h"

namespace dnas {
namespace {

torch::Tensor apply_activation(torch::Tensor x, Activation act, bool in_place) {
  switch (act) {
    case Activation::kRelu: return in_place ? x.relu_() : x.relu();
    case Activation::kRelu6: return in_place ? at::hardtanh_(x, 0.0, 6.0) : at::hardtanh(x, 0.0, 6.0);
    // Never in place: their gradients need the input.
    case Activation::kHardSwish: return at::hardswish(x);
    case Activation::kHardSigmoid: return at::hardsigmoid(x);
    case Activation::kNone: return x;
  }
  return x;
}

torch::Tensor shuffle_channels(const torch::Tensor& x, int64_t groups) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (x.is_contiguous(at::MemoryFormat::ChannelsLast) && !x.is_contiguous()) {
    // NHWC in memory: shuffle the innermost (channel) dimension and keep the layout.
    const torch::Tensor nhwc = x.permute({0, 2, 3, 1});
    return nhwc.view({n, h, w, groups, c / groups}).transpose(3, 4).contiguous().view({n, h, w, c}).permute({0, 3, 1, 2});
  }
  return x.view({n, groups, c / groups, h, w}).transpose(1, 2).contiguous().view({n, c, h, w});
}

}  // namespace

template <typename M>
M BlockImpl::register_at(const std::string& path, M module) {
  torch::nn::Module* parent = this;
  size_t start = 0;
  for (size_t dot = path.find('.'); dot != std::string::npos; start = dot + 1, dot = path.find('.', start)) {
    const std::string name = path.substr(start, dot - start);
    auto children = parent->named_children();
    if (const auto* found = children.find(name)) {
      parent = found->get();
    } else {
      parent = parent->register_module(name, std::make_shared<torch::nn::Module>(name)).get();
    }
  }
  return parent->register_module(path.substr(start), module);
}

BlockImpl::BlockImpl(BlockPlan plan, std::string description, std::shared_ptr<const ConvWeightSource> lent)
    : torch::nn::Module("Block"), plan_(std::move(plan)), description_(std::move(description)), lent_(std::move(lent)) {
  const std::vector<int> uses = plan_.uses();
  modules_.resize(plan_.steps.size());
  in_place_.resize(plan_.steps.size());
  last_use_.assign(plan_.steps.size() + 1, -1);
  for (size_t i = 0; i < plan_.steps.size(); ++i) {
    const Step& s = plan_.steps[i];
    for (int v : s.inputs) last_use_[static_cast<size_t>(v)] = static_cast<int>(i);
    // BN and activations overwrite a map only this block made and nothing else reads.
    in_place_[i] = s.inputs.size() == 1 && s.inputs[0] != 0 && uses[static_cast<size_t>(s.inputs[0])] == 1;
    switch (s.kind) {
      case StepKind::kConv:
        if (lent_ && lent_->lends(i)) break;
        modules_[i].conv = register_at(s.module, torch::nn::Conv2d(torch::nn::Conv2dOptions(s.in_channels, s.out_channels, s.kernel)
                                                                        .stride(s.stride)
                                                                        .padding(s.padding)
                                                                        .groups(s.groups)
                                                                        .bias(s.bias)));
        break;
      case StepKind::kBatchNorm:
        modules_[i].bn = register_at(s.module, torch::nn::BatchNorm2d(s.output.channels));
        break;
      case StepKind::kLinear:
        modules_[i].linear = register_at(s.module, torch::nn::Linear(s.in_channels, s.out_channels));
        break;
      default:
        break;
    }
  }
}

torch::Tensor BlockImpl::forward(torch::Tensor x) {
  std::vector<torch::Tensor> values(plan_.steps.size() + 1);
  values[0] = std::move(x);
  for (size_t i = 0; i < plan_.steps.size(); ++i) {
    const Step& s = plan_.steps[i];
    const torch::Tensor& in = values[static_cast<size_t>(s.inputs[0])];
    torch::Tensor& out = values[i + 1];
    switch (s.kind) {
      case StepKind::kConv: {
        if (modules_[i].conv) {
          out = modules_[i].conv->forward(in);
          MacTally::record(modules_[i].conv->weight.numel() * out.size(2) * out.size(3));
          break;
        }
        torch::Tensor weight = lent_->weight(i);
        // Slices of a channels-last parameter can lose the strides that select the NHWC kernels.
        if (in.suggest_memory_format() == at::MemoryFormat::ChannelsLast) weight = to_channels_last(weight);
        out = at::conv2d(in, weight, {}, {s.stride, s.stride}, {s.padding, s.padding}, {1, 1}, s.groups);
        MacTally::record(weight.numel() * out.size(2) * out.size(3));
        break;
      }
      case StepKind::kBatchNorm: out = modules_[i].bn->forward(in); break;
      case StepKind::kActivation: out = apply_activation(in, s.act, in_place_[i]); break;
      case StepKind::kShuffle: out = shuffle_channels(in, s.groups); break;
      case StepKind::kShift:
        DNAS_CHECK(in.size(1) == s.output.channels, "shift: expected ", s.output.channels, " channels, got ", in.size(1));
        out = shift(in, s.kernel, s.stride);
        break;
      case StepKind::kConcat: {
        std::vector<torch::Tensor> parts;
        for (int v : s.inputs) parts.push_back(values[static_cast<size_t>(v)]);
        out = at::cat(parts, 1);
        break;
      }
      case StepKind::kAdd: out = in + values[static_cast<size_t>(s.inputs[1])]; break;
      case StepKind::kMul: out = in * values[static_cast<size_t>(s.inputs[1])]; break;
      case StepKind::kMaxPool:
        out = at::max_pool2d(in, {s.kernel, s.kernel}, {s.stride, s.stride}, {s.padding, s.padding}, {1, 1}, s.ceil_mode);
        break;
      case StepKind::kGlobalAvgPool: out = at::adaptive_avg_pool2d(in, {1, 1}); break;
      case StepKind::kLinear:
        MacTally::record(modules_[i].linear->weight.numel());
        out = modules_[i].linear->forward(in.flatten(1)).view({in.size(0), -1, 1, 1});
        break;
      case StepKind::kDropout: out = at::dropout(in, s.p, is_training()); break;
    }
    // Feature maps are freed as soon as nothing else reads them, as plain code would.
    for (int v : s.inputs)
      if (v != 0 && last_use_[static_cast<size_t>(v)] == static_cast<int>(i)) values[static_cast<size_t>(v)] = torch::Tensor();
  }
  return std::move(values.back());
}

void BlockImpl::pretty_print(std::ostream& stream) const { stream << "Block(" << description_ << ")"; }

torch::nn::AnyModule make_block(const OpDef& op, const BlockArgs& args) {
  return torch::nn::AnyModule(Block(plan_block(op, args), describe_block(op, args)));
}

at::Tensor to_channels_last(const at::Tensor& x) {
  if (x.dim() != 4 || x.suggest_memory_format() == at::MemoryFormat::ChannelsLast) return x;
  return at::empty_like(x, x.options(), at::MemoryFormat::ChannelsLast).copy_(x);
}

void use_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    if (p.dim() == 4) p.set_data(to_channels_last(p));
}

}  // namespace dnas

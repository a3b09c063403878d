#include "ops/blocks.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/hardtanh.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/pooling.h>

#include "common/error.h"
#include "ops/mac_tally.h"
#include "ops/shift.h"

namespace dnas {
namespace {

torch::Tensor apply_activation(torch::Tensor x, Activation act) {
  switch (act) {
    case Activation::kRelu: return x.relu_();
    case Activation::kRelu6: return at::hardtanh_(x, 0.0, 6.0);
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

ConvNormActImpl::ConvNormActImpl(const ConvPlan& plan) : plan_(plan) {
  conv = register_module("conv", torch::nn::Conv2d(
      torch::nn::Conv2dOptions(plan.in_channels, plan.out_channels, plan.kernel)
          .stride(plan.stride)
          .padding(plan.padding)
          .groups(plan.groups)
          .bias(plan.bias)));
  if (plan.batch_norm) bn = register_module("bn", torch::nn::BatchNorm2d(plan.out_channels));
}

torch::Tensor ConvNormActImpl::forward(torch::Tensor x) {
  torch::Tensor y = conv->forward(x);
  MacTally::record(conv->weight.numel() * y.size(2) * y.size(3));
  if (bn) y = bn->forward(y);
  return apply_activation(y, plan_.act);
}

ShiftImpl::ShiftImpl(int64_t channels, int64_t kernel, int64_t stride)
    : channels_(channels), kernel_(kernel), stride_(stride) {}

torch::Tensor ShiftImpl::forward(torch::Tensor x) {
  DNAS_CHECK(x.size(1) == channels_, "shift: expected ", channels_, " channels, got ", x.size(1));
  return shift(x, kernel_, stride_);
}

InvertedResidualImpl::InvertedResidualImpl(const InvertedResidualPlan& plan) : plan_(plan) {
  if (plan.expand) pw = register_module("pw", ConvNormAct(*plan.expand));
  dw = register_module("dw", ConvNormAct(plan.depthwise));
  pwl = register_module("pwl", ConvNormAct(plan.project));
}

torch::Tensor InvertedResidualImpl::forward(torch::Tensor x) {
  torch::Tensor y = x;
  if (pw) {
    y = pw->forward(y);
    if (plan_.shuffle_groups > 1) y = shuffle_channels(y, plan_.shuffle_groups);
  }
  y = pwl->forward(dw->forward(y));
  return plan_.residual ? y + x : y;
}

SkipBlockImpl::SkipBlockImpl(const SkipPlan& plan) {
  if (plan.projection) proj = register_module("proj", ConvNormAct(*plan.projection));
}

torch::Tensor SkipBlockImpl::forward(torch::Tensor x) { return proj ? proj->forward(x) : x; }

ShiftBlockImpl::ShiftBlockImpl(const ShiftPlan& plan) : residual_(plan.residual) {
  pw = register_module("pw", ConvNormAct(plan.expand));
  shift = register_module("shift", Shift(plan.expand.out_channels, plan.shift_kernel, plan.shift_stride));
  pwl = register_module("pwl", ConvNormAct(plan.project));
}

torch::Tensor ShiftBlockImpl::forward(torch::Tensor x) {
  torch::Tensor y = pwl->forward(shift->forward(pw->forward(x)));
  return residual_ ? y + x : y;
}

FireImpl::FireImpl(const FirePlan& plan) {
  squeeze = register_module("squeeze", ConvNormAct(plan.squeeze));
  expand1x1 = register_module("expand1x1", ConvNormAct(plan.expand1x1));
  expand3x3 = register_module("expand3x3", ConvNormAct(plan.expand3x3));
}

torch::Tensor FireImpl::forward(torch::Tensor x) {
  torch::Tensor s = squeeze->forward(x);
  return at::cat({expand1x1->forward(s), expand3x3->forward(s)}, 1);
}

FullyConnectedImpl::FullyConnectedImpl(int64_t in_features, int64_t out_features) {
  linear = register_module("linear", torch::nn::Linear(in_features, out_features));
}

torch::Tensor FullyConnectedImpl::forward(torch::Tensor x) {
  MacTally::record(linear->weight.numel());
  return linear->forward(x.flatten(1)).view({x.size(0), -1, 1, 1});
}

torch::nn::AnyModule make_block(const OpDef& op, const BlockArgs& args) {
  switch (op.kind) {
    case OpKind::kInvertedResidual:
      return torch::nn::AnyModule(InvertedResidual(plan_inverted_residual(op, args)));
    case OpKind::kSkip:
      return torch::nn::AnyModule(SkipBlock(plan_skip(op, args)));
    case OpKind::kShift:
      return torch::nn::AnyModule(ShiftBlock(plan_shift(op, args)));
    case OpKind::kFire:
      return torch::nn::AnyModule(Fire(plan_fire(op, args)));
    case OpKind::kConv:
      return torch::nn::AnyModule(ConvNormAct(plan_conv(op, args)));
    case OpKind::kMaxPool: {
      const MaxPoolPlan pool = plan_maxpool(op, args);
      return torch::nn::AnyModule(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(pool.kernel)
                                                           .stride(pool.stride)
                                                           .padding(pool.padding)
                                                           .ceil_mode(pool.ceil_mode)));
    }
    case OpKind::kAvgPool:
      return torch::nn::AnyModule(torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions(1)));
    case OpKind::kLinear:
      check_linear(op, args);
      return torch::nn::AnyModule(FullyConnected(args.input.channels, args.out_channels));
    case OpKind::kDropout:
      return torch::nn::AnyModule(torch::nn::Dropout(torch::nn::DropoutOptions(args.options.dropout_p)));
  }
  throw std::logic_error("make_block: unhandled op kind");
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

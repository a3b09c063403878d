#include "ops/families.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace dnas {
namespace {

void check_common(const OpDef& op, const BlockArgs& args) {
  const FeatureShape& in = args.input;
  DNAS_CHECK(in.channels > 0 && in.height > 0 && in.width > 0, op.key,
             ": expected a positive input shape, got ", in.str());
  if (op.has_out_channels())
    DNAS_CHECK(args.out_channels > 0, op.key, ": expected out channels > 0, got ", args.out_channels);
  DNAS_CHECK(args.stride >= 1, op.key, ": expected stride >= 1, got ", args.stride);
}

void check_block_stride(const OpDef& op, const BlockArgs& args) {
  DNAS_CHECK(args.stride == 1 || args.stride == 2, op.key, ": expected stride 1 or 2, got ", args.stride);
}

void check_divisible(const OpDef& op, const char* what, int64_t channels, int64_t groups) {
  DNAS_CHECK(channels % groups == 0, op.key, ": ", what, " channels ", channels, " are not divisible by groups ",
             groups);
}

// Squeeze-excitation over value `x` (MobileNetV3): returns x scaled per channel by a gate.
int squeeze_excitation(PlanBuilder& b, int x) {
  const int64_t channels = b.shape(x).channels;
  const int64_t squeezed = make_divisible(static_cast<double>(channels) / 4.0);
  int gate = b.global_avg_pool(x);
  gate = b.activation(b.conv(gate, "se.fc1", squeezed, 1, 1, 1, /*bias=*/true), Activation::kRelu);
  gate = b.activation(b.conv(gate, "se.fc2", channels, 1, 1, 1, /*bias=*/true), Activation::kHardSigmoid);
  return b.mul(x, gate);
}

}  // namespace

BlockPlan lower_inverted_residual(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  check_block_stride(op, args);
  const int64_t in = args.input.channels, out = args.out_channels, mid = in * op.expansion, groups = op.groups;
  const Activation act = args.options.act;
  PlanBuilder b(op.key, args.input);
  int y = 0;
  if (op.expansion != 1 || args.options.ir_e1_pointwise) {
    check_divisible(op, "input", in, groups);
    check_divisible(op, "expanded", mid, groups);
    y = b.conv_unit(y, "pw", mid, 1, 1, groups, act);
    if (groups > 1) y = b.shuffle(y, groups);
  }
  y = b.conv_unit(y, "dw", mid, op.kernel, args.stride, mid, act);
  check_divisible(op, "expanded", mid, groups);
  check_divisible(op, "output", out, groups);
  if (op.squeeze_excite) y = squeeze_excitation(b, y);
  y = b.conv_unit(y, "pwl", out, 1, 1, groups, Activation::kNone);
  if (args.stride == 1 && in == out) b.add(y, 0);
  return b.finish();
}

BlockPlan lower_skip(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  check_block_stride(op, args);
  PlanBuilder b(op.key, args.input);
  if (args.stride != 1 || args.out_channels != args.input.channels)
    b.conv_unit(0, "proj", args.out_channels, 1, args.stride, 1, args.options.act);
  return b.finish();
}

BlockPlan lower_shift_block(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  check_block_stride(op, args);
  const int64_t in = args.input.channels, mid = in * op.expansion;
  PlanBuilder b(op.key, args.input);
  int y = b.conv_unit(0, "pw", mid, 1, 1, 1, args.options.act);
  y = b.shift(y, op.kernel, args.stride);
  y = b.conv_unit(y, "pwl", args.out_channels, 1, 1, 1, Activation::kNone);
  if (args.stride == 1 && in == args.out_channels) b.add(y, 0);
  return b.finish();
}

BlockPlan lower_fire(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  check_block_stride(op, args);
  const int64_t out = args.out_channels;
  DNAS_CHECK(out >= 2, op.key, ": expected out channels >= 2 (half 1x1, half 3x3), got ", out);
  const int64_t squeeze = std::max<int64_t>(1, std::llround(static_cast<double>(out) * op.squeeze_ratio));
  const int64_t expand3x3 = out / 2, expand1x1 = out - expand3x3;
  // SqueezeNet has no BatchNorm; `bn: true` gives the SqueezeNet-BN variant (BN after every conv).
  const bool bn = args.options.batch_norm_or(false), bias = args.options.conv_bias(bn);
  PlanBuilder b(op.key, args.input);
  const int s = b.conv_unit(0, "squeeze", squeeze, 1, 1, 1, Activation::kRelu, bn, bias);
  const int e1 = b.conv_unit(s, "expand1x1", expand1x1, 1, args.stride, 1, Activation::kRelu, bn, bias);
  const int e3 = b.conv_unit(s, "expand3x3", expand3x3, 3, args.stride, 1, Activation::kRelu, bn, bias);
  b.concat({e1, e3});
  return b.finish();
}

BlockPlan lower_conv(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  const BlockOptions& o = args.options;
  const int64_t padding = op.padding_for(o);
  DNAS_CHECK(padding >= 0, op.key, ": expected padding >= 0, got ", padding);
  PlanBuilder b(op.key, args.input);
  const bool bn = o.batch_norm_or(true);
  b.conv_unit(0, "", args.out_channels, op.kernel, args.stride, 1, o.act, bn, o.conv_bias(bn), padding);
  return b.finish();
}

BlockPlan lower_max_pool(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  const int64_t padding = op.padding_for(args.options);
  DNAS_CHECK(padding >= 0 && padding <= op.kernel / 2, op.key, ": expected padding between 0 and ", op.kernel / 2,
             ", got ", padding);
  PlanBuilder b(op.key, args.input);
  b.max_pool(0, op.kernel, args.stride, padding, args.options.ceil_mode);
  return b.finish();
}

BlockPlan lower_avg_pool(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  PlanBuilder b(op.key, args.input);
  b.global_avg_pool(0);
  return b.finish();
}

BlockPlan lower_linear(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  DNAS_CHECK(args.input.height == 1 && args.input.width == 1, op.key,
             ": expected a 1x1 input (put avgpool before fc), got ", args.input.str());
  DNAS_CHECK(args.stride == 1, op.key, ": expected stride 1, got ", args.stride);
  PlanBuilder b(op.key, args.input);
  b.linear(0, "linear", args.out_channels);
  return b.finish();
}

BlockPlan lower_dropout(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  PlanBuilder b(op.key, args.input);
  b.dropout(0, args.options.dropout_p);
  return b.finish();
}

}  // namespace dnas

#include "ops/block_plan.h"

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
  DNAS_CHECK(args.stride == 1 || args.stride == 2, op.key, ": expected stride 1 or 2, got ",
             args.stride);
}

void check_divisible(const OpDef& op, const char* what, int64_t channels, int64_t groups) {
  DNAS_CHECK(channels % groups == 0, op.key, ": ", what, " channels ", channels,
             " are not divisible by groups ", groups);
}

ConvPlan make_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                   Activation act, bool batch_norm = true, bool bias = false) {
  ConvPlan conv;
  conv.in_channels = in;
  conv.out_channels = out;
  conv.kernel = kernel;
  conv.stride = stride;
  conv.padding = kernel / 2;
  conv.groups = groups;
  conv.act = act;
  conv.batch_norm = batch_norm;
  conv.bias = bias;
  return conv;
}

void check_spatial(const OpDef& op, const FeatureShape& in, const FeatureShape& out) {
  DNAS_CHECK(out.height >= 1 && out.width >= 1, op.key, ": input ", in.str(),
             " is too small for this kernel/stride/padding (output would be ", out.str(), ")");
}

}  // namespace

int64_t window_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t padding,
                           bool ceil_mode) {
  const int64_t span = input + 2 * padding - kernel;
  if (span < 0) return 0;
  if (!ceil_mode) return span / stride + 1;
  int64_t out = (span + stride - 1) / stride + 1;
  // PyTorch: the last window must start inside the input or its left padding.
  if ((out - 1) * stride >= input + padding) --out;
  return out;
}

int64_t ConvPlan::params() const {
  int64_t count = kernel * kernel * (in_channels / groups) * out_channels;
  if (bias) count += out_channels;
  if (batch_norm) count += 2 * out_channels;  // gamma, beta (running stats are buffers)
  return count;
}

FeatureShape ConvPlan::output(const FeatureShape& input) const {
  return {out_channels, window_output_size(input.height, kernel, stride, padding),
          window_output_size(input.width, kernel, stride, padding)};
}

int64_t ConvPlan::macs(const FeatureShape& output) const {
  return kernel * kernel * (in_channels / groups) * out_channels * output.height * output.width;
}

FeatureShape MaxPoolPlan::output(const FeatureShape& input) const {
  return {input.channels, window_output_size(input.height, kernel, stride, padding, ceil_mode),
          window_output_size(input.width, kernel, stride, padding, ceil_mode)};
}

InvertedResidualPlan plan_inverted_residual(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  check_block_stride(op, args);
  const int64_t in = args.input.channels;
  const int64_t out = args.out_channels;
  const int64_t mid = in * op.expansion;
  const int64_t groups = op.groups;
  const Activation act = args.options.act;

  InvertedResidualPlan plan;
  const bool keep_expand = op.expansion != 1 || args.options.ir_e1_pointwise;
  if (keep_expand) {
    check_divisible(op, "input", in, groups);
    check_divisible(op, "expanded", mid, groups);
    plan.expand = make_conv(in, mid, 1, 1, groups, act);
    plan.shuffle_groups = groups;
  }
  plan.depthwise = make_conv(mid, mid, op.kernel, args.stride, mid, act);
  check_divisible(op, "expanded", mid, groups);
  check_divisible(op, "output", out, groups);
  plan.project = make_conv(mid, out, 1, 1, groups, Activation::kNone);
  plan.residual = args.stride == 1 && in == out;
  check_spatial(op, args.input, plan.depthwise.output(args.input));
  return plan;
}

SkipPlan plan_skip(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  check_block_stride(op, args);
  SkipPlan plan;
  if (args.stride != 1 || args.out_channels != args.input.channels) {
    ConvPlan projection = make_conv(args.input.channels, args.out_channels, 1, args.stride, 1,
                                    args.options.act);
    check_spatial(op, args.input, projection.output(args.input));
    plan.projection = projection;
  }
  return plan;
}

ShiftPlan plan_shift(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  check_block_stride(op, args);
  const int64_t in = args.input.channels;
  const int64_t mid = in * op.expansion;
  ShiftPlan plan;
  plan.expand = make_conv(in, mid, 1, 1, 1, args.options.act);
  plan.shift_kernel = op.kernel;
  plan.shift_stride = args.stride;
  plan.project = make_conv(mid, args.out_channels, 1, 1, 1, Activation::kNone);
  plan.residual = args.stride == 1 && in == args.out_channels;
  return plan;
}

FirePlan plan_fire(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  check_block_stride(op, args);
  const int64_t out = args.out_channels;
  DNAS_CHECK(out >= 2, op.key, ": expected out channels >= 2 (half 1x1, half 3x3), got ", out);
  const int64_t squeeze = std::max<int64_t>(1, std::llround(out * op.squeeze_ratio));
  const int64_t expand3x3 = out / 2;
  const int64_t expand1x1 = out - expand3x3;
  FirePlan plan;
  plan.squeeze = make_conv(args.input.channels, squeeze, 1, 1, 1, Activation::kRelu, false, true);
  plan.expand1x1 = make_conv(squeeze, expand1x1, 1, args.stride, 1, Activation::kRelu, false, true);
  plan.expand3x3 = make_conv(squeeze, expand3x3, 3, args.stride, 1, Activation::kRelu, false, true);
  return plan;
}

ConvPlan plan_conv(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  const BlockOptions& o = args.options;
  ConvPlan conv = make_conv(args.input.channels, args.out_channels, op.kernel, args.stride, 1, o.act,
                            o.batch_norm, o.conv_bias());
  conv.padding = o.padding_for(op);
  DNAS_CHECK(conv.padding >= 0, op.key, ": expected padding >= 0, got ", conv.padding);
  check_spatial(op, args.input, conv.output(args.input));
  return conv;
}

MaxPoolPlan plan_maxpool(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  MaxPoolPlan pool;
  pool.kernel = op.kernel;
  pool.stride = args.stride;
  pool.padding = args.options.padding_for(op);
  pool.ceil_mode = args.options.ceil_mode;
  DNAS_CHECK(pool.padding >= 0 && pool.padding <= pool.kernel / 2, op.key,
             ": expected padding between 0 and ", pool.kernel / 2, ", got ", pool.padding);
  check_spatial(op, args.input, pool.output(args.input));
  return pool;
}

void check_linear(const OpDef& op, const BlockArgs& args) {
  check_common(op, args);
  DNAS_CHECK(args.input.height == 1 && args.input.width == 1, op.key,
             ": expected a 1x1 input (put avgpool before fc), got ", args.input.str());
  DNAS_CHECK(args.stride == 1, op.key, ": expected stride 1, got ", args.stride);
}

}  // namespace dnas

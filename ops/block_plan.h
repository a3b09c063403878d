// The structure of every block as plain data: which convolutions it holds, with what channels,
// kernels, strides and groups, whether it shuffles, shifts or adds a residual. The analytic cost
// model (cost.h) and the module builder (blocks.h) both read these plans, so the numbers we report
// and the network we run are derived from one description. Torch-free.
//
// Every plan_* function validates its arguments and throws dnas::Error naming the op key and the
// offending value (stride, channels, groups, a spatial size that would vanish).
#pragma once

#include <cstdint>
#include <optional>

#include "ops/op_def.h"

namespace dnas {

// conv (groups) -> optional BN -> optional activation.
struct ConvPlan {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t groups = 1;
  bool bias = false;
  bool batch_norm = true;
  Activation act = Activation::kRelu;

  int64_t params() const;
  FeatureShape output(const FeatureShape& input) const;
  int64_t macs(const FeatureShape& output) const;  // per sample
};

// FBNet inverted residual: [1x1 expand (g) -> shuffle] -> kxk depthwise (s) -> 1x1 project (g), no act.
struct InvertedResidualPlan {
  std::optional<ConvPlan> expand;  // absent when e = 1 and the block drops its first 1x1
  int64_t shuffle_groups = 1;      // channel shuffle after `expand` when > 1
  ConvPlan depthwise;
  ConvPlan project;
  bool residual = false;
};

// Identity, or a 1x1 conv (stride s) + BN + act projection when the shape changes.
struct SkipPlan {
  std::optional<ConvPlan> projection;
};

// ShiftNet CSC block: 1x1 conv -> BN -> act -> shift (k x k, stride s) -> 1x1 conv -> BN.
struct ShiftPlan {
  ConvPlan expand;
  int64_t shift_kernel = 3;
  int64_t shift_stride = 1;
  ConvPlan project;
  bool residual = false;
};

// SqueezeNet Fire: squeeze 1x1 -> ReLU; expand 1x1 and 3x3 (stride s, on the squeezed map) -> ReLU
// each; concatenated [1x1, 3x3]. Convolutions carry biases and no BN, as in SqueezeNet.
struct FirePlan {
  ConvPlan squeeze;
  ConvPlan expand1x1;
  ConvPlan expand3x3;
};

struct MaxPoolPlan {
  int64_t kernel = 3;
  int64_t stride = 2;
  int64_t padding = 0;
  bool ceil_mode = false;
  FeatureShape output(const FeatureShape& input) const;
};

InvertedResidualPlan plan_inverted_residual(const OpDef& op, const BlockArgs& args);
SkipPlan plan_skip(const OpDef& op, const BlockArgs& args);
ShiftPlan plan_shift(const OpDef& op, const BlockArgs& args);
FirePlan plan_fire(const OpDef& op, const BlockArgs& args);
ConvPlan plan_conv(const OpDef& op, const BlockArgs& args);
MaxPoolPlan plan_maxpool(const OpDef& op, const BlockArgs& args);
// fc: a linear layer over a 1x1 map (global pooling must come first).
void check_linear(const OpDef& op, const BlockArgs& args);

// Spatial output size of a window op; `ceil_mode` follows PyTorch's pooling rule.
int64_t window_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t padding,
                           bool ceil_mode = false);

}  // namespace dnas

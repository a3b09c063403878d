// The block families, each lowered to primitive steps (block_plan.h). The registry (registry.cpp)
// pairs every canonical op key with one of these; nothing else knows the families.
//
//   ir       FBNet / MobileNetV2 inverted residual: [1x1 expand (g) -> BN -> act -> shuffle] ->
//            kxk depthwise (s) -> BN -> act -> [squeeze-excitation] -> 1x1 project (g) -> BN;
//            residual add when s = 1 and Cin = Cout. An e = 1 block drops its first 1x1 unless the
//            ir_e1_pw option keeps it. Squeeze-excitation (MobileNetV3): global average pool ->
//            1x1 conv to make_divisible(mid / 4) (bias) -> ReLU -> 1x1 conv back (bias) ->
//            hard-sigmoid -> scale the depthwise output.
//   skip     identity, or 1x1 conv (s) -> BN -> act when the shape changes.
//   shift    ShiftNet CSC: 1x1 conv -> BN -> act -> shift (k x k, s) -> 1x1 conv -> BN; residual
//            as ir.
//   fire     SqueezeNet Fire: squeeze 1x1 to round(out * ratio) -> ReLU; expand 1x1 and 3x3 (s) on
//            the squeezed map -> ReLU each; concatenated [1x1, 3x3]. Biases, no BN.
//   conv     conv (padding option, default k/2) -> [BN] -> act; bias by option (default: no BN).
//   maxpool  max pool (padding option, default 0; ceil_mode option).
//   avgpool  global average pool.
//   fc       linear layer over a 1x1 map (global pooling must come first).
//   dropout  dropout with probability p.
// Each validates its arguments and throws dnas::Error "<op key>: ..." naming the offending value.
#pragma once

#include "ops/block_plan.h"

namespace dnas {

BlockPlan lower_inverted_residual(const OpDef& op, const BlockArgs& args);
BlockPlan lower_skip(const OpDef& op, const BlockArgs& args);
BlockPlan lower_shift_block(const OpDef& op, const BlockArgs& args);
BlockPlan lower_fire(const OpDef& op, const BlockArgs& args);
BlockPlan lower_conv(const OpDef& op, const BlockArgs& args);
BlockPlan lower_max_pool(const OpDef& op, const BlockArgs& args);
BlockPlan lower_avg_pool(const OpDef& op, const BlockArgs& args);
BlockPlan lower_linear(const OpDef& op, const BlockArgs& args);
BlockPlan lower_dropout(const OpDef& op, const BlockArgs& args);

}  // namespace dnas

#include "ops/cost.h"

#include "ops/block_plan.h"

namespace dnas {
namespace {

// Accumulates convolutions applied in sequence, tracking the running feature shape.
struct CostAccumulator {
  BlockCost cost;
  FeatureShape shape;

  explicit CostAccumulator(const FeatureShape& input) : shape(input) {
    cost.activation_elements = input.elements();
  }
  void conv(const ConvPlan& plan) { shape = conv_from(plan, shape); }
  // A conv reading `from` (not necessarily the running shape); returns its output.
  FeatureShape conv_from(const ConvPlan& plan, const FeatureShape& from) {
    const FeatureShape out = plan.output(from);
    cost.params += plan.params();
    cost.macs += plan.macs(out);
    cost.activation_elements += out.elements();
    return out;
  }
  void materialise(const FeatureShape& map) { cost.activation_elements += map.elements(); }
  BlockCost finish() {
    cost.output = shape;
    return cost;
  }
};

}  // namespace

BlockCost block_cost(const OpDef& op, const BlockArgs& args) {
  CostAccumulator acc(args.input);
  switch (op.kind) {
    case OpKind::kInvertedResidual: {
      const InvertedResidualPlan plan = plan_inverted_residual(op, args);
      if (plan.expand) {
        acc.conv(*plan.expand);
        if (plan.shuffle_groups > 1) acc.materialise(acc.shape);
      }
      acc.conv(plan.depthwise);
      acc.conv(plan.project);
      if (plan.residual) acc.materialise(acc.shape);
      break;
    }
    case OpKind::kSkip: {
      const SkipPlan plan = plan_skip(op, args);
      if (plan.projection) acc.conv(*plan.projection);
      break;
    }
    case OpKind::kShift: {
      const ShiftPlan plan = plan_shift(op, args);
      acc.conv(plan.expand);
      acc.shape = {acc.shape.channels,
                   window_output_size(acc.shape.height, plan.shift_kernel, plan.shift_stride,
                                      plan.shift_kernel / 2),
                   window_output_size(acc.shape.width, plan.shift_kernel, plan.shift_stride,
                                      plan.shift_kernel / 2)};
      acc.materialise(acc.shape);
      acc.conv(plan.project);
      if (plan.residual) acc.materialise(acc.shape);
      break;
    }
    case OpKind::kFire: {
      const FirePlan plan = plan_fire(op, args);
      acc.conv(plan.squeeze);
      const FeatureShape squeezed = acc.shape;
      const FeatureShape e1 = acc.conv_from(plan.expand1x1, squeezed);
      const FeatureShape e3 = acc.conv_from(plan.expand3x3, squeezed);
      acc.shape = {e1.channels + e3.channels, e1.height, e1.width};
      acc.materialise(acc.shape);  // the concatenation
      break;
    }
    case OpKind::kConv:
      acc.conv(plan_conv(op, args));
      break;
    case OpKind::kMaxPool:
      acc.shape = plan_maxpool(op, args).output(args.input);
      acc.materialise(acc.shape);
      break;
    case OpKind::kAvgPool:
      acc.shape = {args.input.channels, 1, 1};
      acc.materialise(acc.shape);
      break;
    case OpKind::kLinear:
      check_linear(op, args);
      acc.cost.params += args.input.channels * args.out_channels + args.out_channels;
      acc.cost.macs += args.input.channels * args.out_channels;
      acc.shape = {args.out_channels, 1, 1};
      acc.materialise(acc.shape);
      break;
    case OpKind::kDropout:
      acc.materialise(acc.shape);
      break;
  }
  return acc.finish();
}

}  // namespace dnas

#include "ops/cost.h"

namespace dnas {

BlockCost plan_cost(const BlockPlan& plan) {
  BlockCost cost;
  cost.activation_elements = plan.input.elements();
  for (const Step& step : plan.steps) {
    cost.params += step.params();
    cost.macs += step.macs();
    if (step.materialises()) cost.activation_elements += step.output.elements();
  }
  cost.output = plan.output();
  return cost;
}

BlockCost block_cost(const OpDef& op, const BlockArgs& args) { return plan_cost(plan_block(op, args)); }

}  // namespace dnas

#include "ops/cost.h"

#include "common/checked_math.h"

namespace dnas {

BlockCost plan_cost(const BlockPlan& plan) {
  BlockCost cost;
  cost.activation_elements = plan.input.elements();
  for (const Step& step : plan.steps) {
    cost.params = checked_add(cost.params, step.params(), "a parameter count");
    cost.macs = checked_add(cost.macs, step.macs(), "a MAC count");
    if (step.materialises())
      cost.activation_elements = checked_add(cost.activation_elements, step.output.elements(), "an activation count");
  }
  cost.output = plan.output();
  return cost;
}

BlockCost block_cost(const OpDef& op, const BlockArgs& args) { return plan_cost(plan_block(op, args)); }

}  // namespace dnas

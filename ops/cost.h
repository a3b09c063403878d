// Analytic cost of one block at one input shape, per sample (batch 1), summed over its plan's
// steps (block_plan.h):
//   params               trainable parameters (conv/linear weights and biases, BN gamma/beta);
//   macs                 multiply-accumulates of conv and linear layers (BN, activations, pooling,
//                        shuffles, shifts, adds and multiplies count zero) -- torchvision's "FLOPs";
//   activation_elements  the input plus every feature map the block materialises (BN and
//                        activations work in place, so conv+BN+act is one map; every other step
//                        writes one).
// Throws dnas::Error on arguments that cannot work.
#pragma once

#include <cstdint>

#include "common/checked_math.h"
#include "ops/block_plan.h"
#include "ops/op_def.h"

namespace dnas {

struct BlockCost {
  int64_t params = 0;
  int64_t macs = 0;
  int64_t activation_elements = 0;
  FeatureShape output;

  int64_t activation_bytes(int64_t bytes_per_element = 4) const {
    return checked_mul(activation_elements, bytes_per_element, "an activation size in bytes");
  }
};

BlockCost plan_cost(const BlockPlan& plan);
BlockCost block_cost(const OpDef& op, const BlockArgs& args);

}  // namespace dnas

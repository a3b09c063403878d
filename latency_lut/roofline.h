// The analytic fallback: a roofline estimate of one block's latency on a target from its MACs and
// the bytes it moves, for when a target has no measured rows. Always an *estimate*: callers label
// it so wherever it is shown or stored, and a measured row always wins.
//
//   compute_us = 2 * MACs * batch / (peak_gflops[dtype] * compute_efficiency * 1e3)
//   memory_us  = (activation elements * batch + params) * dtype bytes / (bandwidth_gbs * memory_efficiency * 1e3)
//   estimate   = max(compute_us, memory_us) + per_op_overhead_us
// A block that materialises nothing (an identity skip) costs 0.
#pragma once

#include "latency_lut/lut_key.h"
#include "latency_lut/target_spec.h"
#include "ops/cost.h"

namespace dnas {

double roofline_estimate_us(const BlockCost& cost, const FeatureShape& input, const TargetSpec& target,
                            const LutSettings& settings);

}  // namespace dnas

#include "latency_lut/roofline.h"

#include <algorithm>

namespace dnas {

double roofline_estimate_us(const BlockCost& cost, const FeatureShape& input, const TargetSpec& target,
                            const LutSettings& settings) {
  if (cost.activation_elements == input.elements() && cost.macs == 0) return 0.0;  // identity
  const double batch = static_cast<double>(settings.batch);
  const double flops = 2.0 * static_cast<double>(cost.macs) * batch;
  const double bytes = (static_cast<double>(cost.activation_elements) * batch + static_cast<double>(cost.params)) *
                       static_cast<double>(dtype_bytes(settings.dtype));
  // GFLOP/s * 1e3 = FLOP per microsecond; GB/s * 1e3 = bytes per microsecond.
  const double compute_us = flops / (target.peak_gflops_for(settings.dtype) * target.compute_efficiency * 1e3);
  const double memory_us = bytes / (target.memory_bandwidth_gbs * target.memory_efficiency * 1e3);
  return std::max(compute_us, memory_us) + target.per_op_overhead_us;
}

}  // namespace dnas

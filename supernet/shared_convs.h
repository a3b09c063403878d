// Nested weight sharing between the candidates of one searchable layer (Single-Path NAS's
// superkernel, Once-for-All's elastic kernel and width): the conv steps of the candidates that sit
// at the same module path ("pw.conv", "dw.conv", "pwl.conv") read one shared weight of the largest
// shape among them, instead of one weight each. A candidate's weight is
//   - the first `out` filters and the first `in` input channels (so e3's expansion is the first
//     half of e6's, and e1's pwl reads the first sixth of e6's);
//   - its centre kernel x kernel window (k3 is the middle of k5);
//   - for a grouped conv (FBNet's g2 1x1s), the blocks on the diagonal of that slice: group j
//     reads filters [j*out/g, (j+1)*out/g) over input channels [j*in/g, (j+1)*in/g);
//   - when a channel shuffle follows the conv (g2's first 1x1), its filters in the order that
//     makes the shuffled channel p come from shared filter p, as the next conv of every other
//     candidate expects.
// Depthwise convs share with depthwise convs only. A conv is shared when at least two candidates
// have one at its path with the same stride, kind and kernel parity, no bias and "same" padding;
// BatchNorm, squeeze-excitation and biased convs stay per candidate.
//
// Why: in single-path (hard) training each candidate of K gets about 1/K of the steps, too few to
// learn in a short search; shared weights give every step to every candidate's slice.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "ops/block_module.h"
#include "ops/block_plan.h"

namespace dnas {

class SharedConvs {
 public:
  // `plans[i]` is candidate i's plan. Registers the shared weights in `owner` under a child module
  // "shared" (as "shared.pw_conv", ...), initialised Kaiming-normal (fan-out, ReLU) at their
  // full shape; registers nothing when no conv is shared.
  SharedConvs(const std::vector<BlockPlan>& plans, torch::nn::Module& owner);

  // What candidate i's block borrows (never null; it may lend nothing).
  std::shared_ptr<const ConvWeightSource> source(size_t candidate) const { return sources_.at(candidate); }
  // How many shared weights there are.
  size_t size() const { return weights_.size(); }

 private:
  std::vector<torch::Tensor> weights_;
  std::vector<std::shared_ptr<const ConvWeightSource>> sources_;
};

}  // namespace dnas

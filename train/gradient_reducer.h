// Gradient averaging that overlaps the backward pass, in the manner of DistributedDataParallel's
// reducer: hooks on the parameters collect each gradient as autograd produces it, and a bucket of
// consecutive parameters (in reverse registration order, the order backward produces them; the
// first 1 MiB, then about 25 MiB each; DNAS_BUCKET_MB caps them, as DDP's bucket_cap_mb) is
// all-reduced asynchronously as soon as it is complete, while backward goes on.
//
// Per step:  prepare(loss)  walks the autograd graph from the loss to find which parameters get
//            a gradient this step (in hard mode only the sampled path does; every rank samples
//            the same path, so every rank finds the same set) and lays out the buckets;
//            loss.backward();
//            finish()  waits for the buckets and writes the averages into .grad.
// Buckets are launched strictly in order, so every rank issues the same collectives in the same
// order whatever order its hooks fire in. Without a distributed World every call is a no-op.
#pragma once

#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

#include "train/distributed.h"

namespace torch::optim {
class Optimizer;
}

namespace dnas {

class GradientReducer {
 public:
  GradientReducer(const World& world, std::vector<at::Tensor> params);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  void prepare(const at::Tensor& loss);
  void finish();

  struct State;

 private:
  const World& world_;
  int64_t bucket_cap_;
  std::shared_ptr<State> state_;  // shared with the hooks, which outlive nothing they touch
};

// One optimizer step on `loss`: unsets the gradients (clear_gradients: parameters outside this
// step's graph stay unmoved), backpropagates with `reducer` averaging them across ranks, steps.
void descend(const at::Tensor& loss, GradientReducer& reducer, torch::optim::Optimizer& optimizer);

}  // namespace dnas

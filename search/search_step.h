// The two steps of the DNAS search, shared by the trainer and `dnas bench search-step` so the
// benchmark times exactly the loop a search runs:
//   w step:     sample the architecture (no grad), forward, loss = CE * alpha * (log LAT)^beta with
//               LAT detached, backward into the weights only, average over ranks, SGD step;
//   theta step: sample with grad, forward with the weights frozen (no weight gradients are
//               computed), the same loss with LAT differentiable in theta (+ the budget penalty),
//               backward into theta only, average over ranks, Adam step.
// Distributed, the averaging overlaps the backward pass (train/gradient_reducer.h).
// Steps never synchronise with the device: loss, correct count and latency come back as device
// tensors, and the caller decides when to read them (.item()) for logging.
// The caller seeds the global RNG before each step (the Gumbel draw) and calls begin_phase()
// when switching between w and theta steps.
#pragma once

#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include "train/distributed.h"
#include "train/gradient_reducer.h"
#include "supernet/supernet.h"

namespace dnas {

struct StepSettings {
  SampleMode mode = SampleMode::kSoft;
  NoiseScope scope = NoiseScope::kPerBatch;
  double alpha = 0.2, beta = 0.6;
  double latency_penalty = 0, latency_target_us = 0;  // the budget term, when target > 0
  bool channels_last = false;  // images are made channels-last (the supernet's weights must be too)
  bool autocast_bf16 = false;  // CUDA: forward under autocast to bfloat16 (weights, grads stay fp32)
};

struct StepOutput {
  at::Tensor loss;        // scalar
  at::Tensor correct;     // scalar, int64: top-1 hits in the batch
  at::Tensor latency_us;  // scalar: this step's expected latency
};

class SearchStepper {
 public:
  // `latency_us[l]` holds layer l's candidate latencies on the supernet's device.
  SearchStepper(Supernet net, std::vector<at::Tensor> latency_us, double fixed_us, StepSettings settings,
                const World& world);

  // Freezes the weights for theta steps (and unfreezes them for w steps).
  void begin_phase(bool w_phase);
  StepOutput w_step(const at::Tensor& images, const at::Tensor& labels, double tau, torch::optim::SGD& optimizer);
  StepOutput theta_step(const at::Tensor& images, const at::Tensor& labels, double tau, torch::optim::Adam& optimizer);
  // Theta frozen (warm-up): scores the batch without training anything.
  StepOutput observe(const at::Tensor& images, const at::Tensor& labels, double tau);

 private:
  at::Tensor layout(const at::Tensor& images) const;
  at::Tensor forward(const at::Tensor& images, const ArchSample& sample);
  StepOutput score(const at::Tensor& logits, const at::Tensor& labels, const ArchSample& sample, bool latency_grad);

  Supernet net_;
  std::vector<at::Tensor> latency_us_;
  double fixed_us_;
  StepSettings settings_;
  std::vector<at::Tensor> weights_, thetas_;
  GradientReducer weight_reducer_, theta_reducer_;  // no-ops unless distributed
};

// CE * alpha * (log LAT_us)^beta, LAT clamped above 1 us.
at::Tensor latency_aware_loss(const at::Tensor& cross_entropy, const at::Tensor& latency_us, double alpha, double beta);

}  // namespace dnas

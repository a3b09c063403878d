// The two steps of the DNAS search, shared by the search loop and `dnas bench search-step` so the
// benchmark times exactly the loop a search runs:
//   w step:     sample the architecture (no grad), forward, backward into the weights only,
//               average over ranks, SGD step. The loss is FBNet's CE * alpha * (log LAT)^beta
//               without a target (LAT detached), plain CE with one. In hard mode the sampled
//               path is the Gumbel argmax (GDAS), a uniform path (SPOS), or both at once (bi).
//   theta step: sample with grad, forward with the weights frozen (no weight gradients are
//               computed), backward into theta only, average over ranks, Adam step. The loss:
//                 no target   CE * alpha * (log LAT)^beta, LAT = sum of sample weights x table
//                 dual        CE + lambda (LAT / T - 1)
//                 absolute    CE + penalty |LAT / T - 1|   (TuNAS)
//                 hinge       CE * alpha * (log LAT)^beta + penalty relu(LAT / T - 1)
//               where with a target LAT is the expectation under softmax(theta / min(1, tau)):
//               under softmax(theta) while tau >= 1 (TF-NAS: the sample's gradient on average,
//               without its noise), then sharpening with the temperature, so that as tau anneals
//               towards one-hot the penalty lands the argmax architecture, which is what the
//               search hands back, and not only the expectation.
//   theta step, REINFORCE (TuNAS; --theta-estimator reinforce): M archs drawn from softmax(theta)
//               run the batch without gradients; each one's loss (CE, or CE * alpha * (log LAT)^beta
//               with its own table latency when there is no target or a hinge) is compared with
//               the other M - 1 archs' mean on the same images, and theta descends
//               mean_i (loss_i - baseline_i) log p(arch_i) plus the target's penalty as above. It
//               needs no gradient through the network, only forward passes, and ranks candidates
//               by what they score rather than by how the sample's weight moves the loss.
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

#include "supernet/supernet.h"
#include "train/distributed.h"
#include "train/gradient_reducer.h"

namespace dnas {

enum class TargetLoss { kNone, kDual, kAbsolute, kHinge };
enum class PathSampling { kGumbel, kUniform, kBi };
enum class ThetaEstimator { kGumbel, kReinforce };

struct StepSettings {
  SampleMode mode = SampleMode::kSoft;
  NoiseScope scope = NoiseScope::kPerBatch;
  PathSampling w_paths = PathSampling::kGumbel;  // hard mode's w steps
  ThetaEstimator theta_estimator = ThetaEstimator::kGumbel;
  int64_t reinforce_paths = 4;  // archs per theta step under REINFORCE (>= 2)
  double alpha = 0.2, beta = 0.6;
  TargetLoss target_loss = TargetLoss::kNone;
  double latency_target_us = 0;
  double latency_penalty = 0;  // absolute, hinge
  bool channels_last = false;  // images are made channels-last (the supernet's weights must be too)
  bool autocast_bf16 = false;  // CUDA: forward under autocast to bfloat16 (weights, grads stay fp32)
};

struct StepOutput {
  at::Tensor loss;        // scalar
  at::Tensor correct;     // scalar, int64: top-1 hits in the batch
  at::Tensor latency_us;  // scalar: the latency the loss saw (see the top of this file)
};

class SearchStepper {
 public:
  // `latency_us[l]` holds layer l's candidate latencies on the supernet's device.
  SearchStepper(Supernet net, std::vector<at::Tensor> latency_us, double fixed_us, StepSettings settings,
                const World& world);

  // Freezes the weights for theta steps (and unfreezes them for w steps).
  void begin_phase(bool w_phase);
  StepOutput w_step(const at::Tensor& images, const at::Tensor& labels, double tau, torch::optim::SGD& optimizer);
  // `lambda`: the dual multiplier (a scalar on the device; ignored unless the target loss is dual).
  StepOutput theta_step(const at::Tensor& images, const at::Tensor& labels, double tau, torch::optim::Adam& optimizer,
                        const at::Tensor& lambda = {});
  // Theta frozen (warm-up): scores the batch without training anything.
  StepOutput observe(const at::Tensor& images, const at::Tensor& labels, double tau);

  // sum_l softmax(theta_l / sharpness) . LAT_l + fixed: differentiable in theta.
  at::Tensor expected_latency_us(double sharpness = 1.0) const;
  // The table latency of the argmax architecture (a scalar on the device, no host sync).
  at::Tensor argmax_latency_us() const;

 private:
  at::Tensor layout(const at::Tensor& images) const;
  at::Tensor forward(const at::Tensor& images, const ArchSample& sample);
  ArchSample uniform_path() const;
  StepOutput reinforce_step(const at::Tensor& images, const at::Tensor& labels, double tau,
                            torch::optim::Adam& optimizer, const at::Tensor& lambda);
  StepOutput score(const at::Tensor& logits, const at::Tensor& labels, const ArchSample& sample, bool theta_phase,
                   const at::Tensor& lambda, double tau);

  Supernet net_;
  std::vector<at::Tensor> latency_us_;
  double fixed_us_;
  StepSettings settings_;
  std::vector<at::Tensor> weights_, thetas_;
  GradientReducer weight_reducer_, theta_reducer_;  // no-ops unless distributed
};

// The term a target adds to the theta step's CE: penalty |LAT/T - 1| (absolute), lambda (LAT/T - 1)
// (dual, lambda a constant here), penalty relu(LAT/T - 1) (hinge); differentiable in `latency_us`.
at::Tensor target_penalty(const at::Tensor& latency_us, TargetLoss form, double target_us, double penalty,
                          const at::Tensor& lambda);

// REINFORCE's surrogate for the `losses` [M] (M >= 2) of M archs drawn from softmax(theta) and their
// log-probabilities `log_probs` [M] (differentiable in theta): mean_i (loss_i - b_i) log_prob_i with
// b_i the mean of the other M - 1 losses (a leave-one-out baseline: unbiased, and no state to carry
// across steps). Descending it raises the probability of the archs whose loss beats the others'.
at::Tensor reinforce_surrogate(const at::Tensor& losses, const at::Tensor& log_probs);

// Both path samplers (uniform paths, REINFORCE's draws from softmax(theta)) draw on the host, one
// uniform in [0, 1) per layer, so that a seeded step draws the same path on any device. Returns,
// per layer l, the first candidate whose running sum `cdfs[l]` exceeds `draws[l]` (the inverse CDF);
// a draw at or past a last sum that rounding left below 1 takes the last candidate.
std::vector<int64_t> path_from_draws(const std::vector<std::vector<double>>& cdfs, const double* draws);

// CE * alpha * (log LAT_us)^beta, LAT clamped above 1 us.
at::Tensor latency_aware_loss(const at::Tensor& cross_entropy, const at::Tensor& latency_us, double alpha, double beta);

}  // namespace dnas

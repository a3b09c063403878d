#include "search/search_step.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/nn/functional/loss.h>

#include "ops/block_module.h"
#include "ops/torch_compat.h"

namespace dnas {

at::Tensor target_penalty(const at::Tensor& latency_us, TargetLoss form, double target_us, double penalty,
                          const at::Tensor& lambda) {
  const at::Tensor excess = latency_us / target_us - 1.0;
  switch (form) {
    case TargetLoss::kAbsolute: return penalty * excess.abs();
    case TargetLoss::kDual: return lambda.detach() * excess;
    case TargetLoss::kHinge: return penalty * excess.relu();
    case TargetLoss::kNone: break;
  }
  return at::zeros_like(latency_us);
}

at::Tensor reinforce_surrogate(const at::Tensor& losses, const at::Tensor& log_probs) {
  const at::Tensor l = losses.detach();
  const at::Tensor baseline = (l.sum() - l) / static_cast<double>(l.size(0) - 1);
  return ((l - baseline) * log_probs).mean();
}

std::vector<int64_t> path_from_draws(const std::vector<std::vector<double>>& cdfs, const double* draws) {
  std::vector<int64_t> path;
  for (size_t l = 0; l < cdfs.size(); ++l) {
    const std::vector<double>& cdf = cdfs[l];
    const auto k = std::upper_bound(cdf.begin(), cdf.end(), draws[l]) - cdf.begin();
    path.push_back(std::min<int64_t>(static_cast<int64_t>(cdf.size()) - 1, k));
  }
  return path;
}

at::Tensor latency_aware_loss(const at::Tensor& cross_entropy, const at::Tensor& latency_us, double alpha, double beta) {
  return cross_entropy * alpha * latency_us.clamp_min(1.0 + 1e-6).log().pow(beta);
}

SearchStepper::SearchStepper(Supernet net, std::vector<at::Tensor> latency_us, double fixed_us, StepSettings settings,
                             const World& world)
    : net_(std::move(net)), latency_us_(std::move(latency_us)), fixed_us_(fixed_us), settings_(settings),
      weights_(net_->weight_parameters()), thetas_(net_->theta_parameters()), weight_reducer_(world, weights_),
      theta_reducer_(world, thetas_) {}

void SearchStepper::begin_phase(bool w_phase) {
  net_->train();
  for (auto& p : weights_) p.requires_grad_(w_phase);
}

at::Tensor SearchStepper::expected_latency_us(double sharpness) const {
  at::Tensor total;
  for (size_t l = 0; l < thetas_.size(); ++l) {
    const at::Tensor layer = ((thetas_[l] / sharpness).softmax(0) * latency_us_[l]).sum();
    total = total.defined() ? total + layer : layer;
  }
  return total + fixed_us_;
}

at::Tensor SearchStepper::argmax_latency_us() const {
  at::NoGradGuard no_grad;
  at::Tensor total;
  for (size_t l = 0; l < thetas_.size(); ++l) {
    const at::Tensor layer = latency_us_[l].index_select(0, thetas_[l].argmax().view({1})).sum();
    total = total.defined() ? total + layer : layer;
  }
  return total + fixed_us_;
}

StepOutput SearchStepper::score(const at::Tensor& logits, const at::Tensor& labels, const ArchSample& sample,
                                bool theta_phase, const at::Tensor& lambda, double tau) {
  StepOutput out;
  const at::Tensor ce = torch::nn::functional::cross_entropy(logits, labels);
  out.correct = logits.detach().argmax(1).eq(labels).sum();
  const TargetLoss form = settings_.target_loss;
  if (form == TargetLoss::kNone || form == TargetLoss::kHinge) {
    out.latency_us = net_->expected_latency_us(sample, latency_us_, fixed_us_);
    if (!theta_phase) out.latency_us = out.latency_us.detach();
    out.loss = latency_aware_loss(ce, out.latency_us, settings_.alpha, settings_.beta);
    if (theta_phase && form == TargetLoss::kHinge)
      out.loss = out.loss + target_penalty(out.latency_us, form, settings_.latency_target_us, settings_.latency_penalty, {});
    return out;
  }
  // A target: CE plus a penalty on the latency expected under softmax(theta).
  if (!theta_phase) {
    out.loss = ce;
    out.latency_us = expected_latency_us(std::min(1.0, tau)).detach();
    return out;
  }
  out.latency_us = expected_latency_us(std::min(1.0, tau));
  out.loss = ce + target_penalty(out.latency_us, form, settings_.latency_target_us, settings_.latency_penalty, lambda);
  return out;
}

namespace {

// CUDA autocast to bfloat16 for one forward pass; restores the previous state. bfloat16 keeps
// fp32's exponent range, so no loss scaling is needed (LibTorch's C++ API has no GradScaler).
class AutocastScope {
 public:
  explicit AutocastScope(bool on) : on_(on) {
    if (!on_) return;
    previous_ = compat::cuda_autocast_enabled();
    previous_dtype_ = compat::cuda_autocast_dtype();
    compat::set_cuda_autocast_dtype(at::kBFloat16);
    compat::set_cuda_autocast_enabled(true);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    compat::set_cuda_autocast_enabled(previous_);
    compat::set_cuda_autocast_dtype(previous_dtype_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_;
  bool previous_ = false;
  at::ScalarType previous_dtype_ = at::kHalf;
};

// Layer probabilities as running sums on the host: path_from_draws' CDF.
std::vector<double> running_sums(const at::Tensor& probabilities) {
  const at::Tensor p = probabilities.to(at::kCPU, at::kDouble).contiguous();
  std::vector<double> sums;
  double sum = 0;
  for (int64_t k = 0; k < p.size(0); ++k) sums.push_back(sum += p.data_ptr<double>()[k]);
  return sums;
}

}  // namespace

at::Tensor SearchStepper::forward(const at::Tensor& images, const ArchSample& sample) {
  const AutocastScope autocast(settings_.autocast_bf16);
  return net_->forward(layout(images), sample).to(at::kFloat);  // the loss in fp32
}

at::Tensor SearchStepper::layout(const at::Tensor& images) const {
  return settings_.channels_last ? to_channels_last(images) : images;
}

ArchSample SearchStepper::uniform_path() const {
  std::vector<std::vector<double>> cdfs;  // (k + 1) / K: every candidate of a layer equally likely
  for (const at::Tensor& theta : thetas_) {
    const int64_t size = theta.size(0);
    std::vector<double>& cdf = cdfs.emplace_back();
    for (int64_t k = 1; k <= size; ++k) cdf.push_back(static_cast<double>(k) / static_cast<double>(size));
  }
  const at::Tensor draws = at::rand({static_cast<int64_t>(thetas_.size())}, at::kDouble);
  const std::vector<int64_t> path = path_from_draws(cdfs, draws.data_ptr<double>());
  ArchSample sample;
  for (size_t l = 0; l < path.size(); ++l)
    sample.push_back(one_hot_sample(thetas_[l].size(0), path[l], thetas_[l].device()));
  return sample;
}

StepOutput SearchStepper::w_step(const at::Tensor& images, const at::Tensor& labels, double tau,
                                 torch::optim::SGD& optimizer) {
  const bool hard = settings_.mode == SampleMode::kHard;
  const PathSampling paths = hard ? settings_.w_paths : PathSampling::kGumbel;
  ArchSample sample;
  {
    at::NoGradGuard no_grad;  // theta is fixed while w trains
    sample = paths == PathSampling::kUniform ? uniform_path()
                                             : net_->sample(tau, settings_.mode, settings_.scope, images.size(0));
  }
  StepOutput out = score(forward(images, sample), labels, sample, /*theta_phase=*/false, {}, tau);
  at::Tensor loss = out.loss;
  if (paths == PathSampling::kBi) {  // TF-NAS: one uniform path beside the Gumbel one, one update
    const ArchSample uniform = uniform_path();
    loss = 0.5 * (loss + score(forward(images, uniform), labels, uniform, false, {}, tau).loss);
  }
  descend(loss, weight_reducer_, optimizer);
  out.loss = loss.detach();
  return out;
}

StepOutput SearchStepper::theta_step(const at::Tensor& images, const at::Tensor& labels, double tau,
                                     torch::optim::Adam& optimizer, const at::Tensor& lambda) {
  if (settings_.theta_estimator == ThetaEstimator::kReinforce)
    return reinforce_step(images, labels, tau, optimizer, lambda);
  const ArchSample sample = net_->sample(tau, settings_.mode, settings_.scope, images.size(0));
  StepOutput out = score(forward(images, sample), labels, sample, /*theta_phase=*/true, lambda, tau);
  descend(out.loss, theta_reducer_, optimizer);
  out.loss = out.loss.detach();
  out.latency_us = out.latency_us.detach();
  return out;
}

StepOutput SearchStepper::reinforce_step(const at::Tensor& images, const at::Tensor& labels, double tau,
                                         torch::optim::Adam& optimizer, const at::Tensor& lambda) {
  const int64_t paths = settings_.reinforce_paths;
  const size_t layers = thetas_.size();
  const at::Tensor draws = at::rand({paths, static_cast<int64_t>(layers)}, at::kDouble);
  std::vector<at::Tensor> log_p(layers);
  std::vector<std::vector<double>> cdfs(layers);
  for (size_t l = 0; l < layers; ++l) {
    log_p[l] = thetas_[l].log_softmax(0);
    cdfs[l] = running_sums(log_p[l].detach().exp());
  }
  const bool latency_in_loss = settings_.target_loss == TargetLoss::kNone || settings_.target_loss == TargetLoss::kHinge;
  std::vector<at::Tensor> losses, log_probs;
  StepOutput out;
  for (int64_t i = 0; i < paths; ++i) {
    const std::vector<int64_t> path = path_from_draws(cdfs, draws.data_ptr<double>() + i * static_cast<int64_t>(layers));
    ArchSample sample;
    at::Tensor log_prob;
    for (size_t l = 0; l < layers; ++l) {
      sample.push_back(one_hot_sample(thetas_[l].size(0), path[l], thetas_[l].device()));
      log_prob = log_prob.defined() ? log_prob + log_p[l][path[l]] : log_p[l][path[l]];
    }
    at::NoGradGuard no_grad;
    const at::Tensor logits = forward(images, sample);
    at::Tensor loss = torch::nn::functional::cross_entropy(logits, labels);
    if (latency_in_loss)
      loss = latency_aware_loss(loss, net_->expected_latency_us(sample, latency_us_, fixed_us_), settings_.alpha,
                                settings_.beta);
    if (i == 0) out.correct = logits.argmax(1).eq(labels).sum();
    losses.push_back(loss);
    log_probs.push_back(log_prob);
  }
  const at::Tensor loss = at::stack(losses);
  at::Tensor objective = reinforce_surrogate(loss, at::stack(log_probs));
  out.loss = loss.mean();
  if (settings_.target_loss == TargetLoss::kNone) {
    out.latency_us = expected_latency_us().detach();
  } else {
    out.latency_us = expected_latency_us(std::min(1.0, tau));
    const at::Tensor penalty = target_penalty(out.latency_us, settings_.target_loss, settings_.latency_target_us,
                                              settings_.latency_penalty, lambda);
    objective = objective + penalty;
    out.loss = out.loss + penalty.detach();
    out.latency_us = out.latency_us.detach();
  }
  descend(objective, theta_reducer_, optimizer);
  return out;
}

StepOutput SearchStepper::observe(const at::Tensor& images, const at::Tensor& labels, double tau) {
  at::NoGradGuard no_grad;
  const ArchSample sample = net_->sample(tau, settings_.mode, settings_.scope, images.size(0));
  return score(forward(images, sample), labels, sample, /*theta_phase=*/false, {}, tau);
}

}  // namespace dnas

#include "search/derivation.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/batchnorm.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "common/error.h"
#include "data/batch_loader.h"
#include "ops/block_module.h"
#include "search/latency_target.h"
#include "train/step_loop.h"

namespace dnas {
namespace {

// The BatchNorms a path runs through: the stem's, the chosen candidate's of every layer, the head's.
std::vector<torch::nn::BatchNorm2dImpl*> path_batch_norms(Supernet& net, const ArchSample& sample) {
  std::vector<std::shared_ptr<torch::nn::Module>> roots{net->stem.ptr(), net->head.ptr()};
  for (size_t l = 0; l < sample.size(); ++l) {
    const auto& layer = net->layers[l]->as<MixedOpImpl>();
    roots.push_back(layer->candidates[static_cast<size_t>(sample[l].index)]);
  }
  std::vector<torch::nn::BatchNorm2dImpl*> out;
  for (const auto& root : roots)
    for (const auto& m : root->modules())
      if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) out.push_back(bn);
  return out;
}

}  // namespace

Json candidate_to_json(const Candidate& c) {
  Json out = {{"name", c.name}, {"choices", c.ops}, {"predicted_latency_ms", c.latency_us / 1000.0},
              {"accuracy_theta_split", c.accuracy}, {"log_likelihood", c.log_likelihood},
              {"within_target", c.within_target}, {"selected", c.selected}};
  if (c.trial_accuracy >= 0) {
    out["trial_accuracy_theta_split"] = c.trial_accuracy;
    out["trial_loss_theta_split"] = c.trial_loss;
    out["trial_seconds"] = c.trial_seconds;
  }
  if (c.final_trial_accuracy >= 0) {
    out["final_trial_accuracy_theta_split"] = c.final_trial_accuracy;
    out["final_trial_loss_theta_split"] = c.final_trial_loss;
    out["final_trial_seconds"] = c.final_trial_seconds;
    if (c.final_trial_accuracies.size() > 1) out["final_trial_accuracies_theta_split"] = c.final_trial_accuracies;
  }
  return out;
}

ArchSample choice_sample(const Supernet& net, const std::vector<int64_t>& choice) {
  const std::vector<at::Tensor> thetas = net->theta_parameters();
  ArchSample sample;
  for (size_t l = 0; l < choice.size(); ++l) sample.push_back(one_hot_sample(thetas[l].size(0), choice[l], thetas[l].device()));
  return sample;
}

void recalibrate_batch_norm(Supernet& net, const ArchSample& sample, const Dataset& data,
                            const std::vector<int64_t>& split, int64_t batch_size, int64_t batches, uint64_t order_seed,
                            bool channels_last) {
  torch::NoGradGuard no_grad;
  const std::vector<torch::nn::BatchNorm2dImpl*> norms = path_batch_norms(net, sample);
  std::vector<c10::optional<double>> momentum;
  for (auto* bn : norms) {
    momentum.push_back(bn->options.momentum());
    bn->reset_running_stats();
    bn->options.momentum(c10::nullopt);  // a cumulative average over the batches below
  }
  net->train();
  const c10::Device device = net->parameters().front().device();
  BatchLoader loader(data, split, batch_size, order_seed, 0, device);
  Batch batch;
  for (int64_t b = 0; b < batches && loader.next(batch); ++b)
    net->forward(channels_last ? to_channels_last(batch.images) : batch.images, sample);
  for (size_t i = 0; i < norms.size(); ++i) norms[i]->options.momentum(momentum[i]);
}

double supernet_accuracy(Supernet& net, const ArchSample& sample, const Dataset& data, const std::vector<int64_t>& split,
                         int64_t batch_size, uint64_t order_seed, bool channels_last, bool running_stats) {
  torch::NoGradGuard no_grad;
  if (running_stats) net->eval();
  else net->train();
  const c10::Device device = net->parameters().front().device();
  BatchLoader loader(data, split, batch_size, order_seed, 0, device);
  Batch batch;
  at::Tensor correct = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device));
  double seen = 0;
  while (loader.next(batch)) {
    const at::Tensor images = channels_last ? to_channels_last(batch.images) : batch.images;
    correct += net->forward(images, sample).argmax(1).eq(batch.labels).sum();
    seen += static_cast<double>(batch.labels.size(0));
  }
  net->train();
  return seen > 0 ? static_cast<double>(correct.item<int64_t>()) / seen : 0;
}

namespace {

// Within the tolerance band around the target, on either side: a target is where the result
// should land, not only a ceiling.
bool within_target(const SearchConfig& config, double latency_us) {
  if (!config.has_target()) return true;
  return std::abs(latency_us / (config.latency_target_ms * 1000.0) - 1.0) <= config.latency_tolerance;
}

std::vector<std::vector<double>> log_probabilities(const Supernet& net) {
  std::vector<std::vector<double>> out;
  for (const std::vector<double>& p : net->probabilities()) {
    std::vector<double> row;
    for (double q : p) row.push_back(std::log(std::max(q, 1e-300)));
    out.push_back(row);
  }
  return out;
}

double log_likelihood(const std::vector<std::vector<double>>& log_p, const std::vector<int64_t>& choice) {
  double sum = 0;
  for (size_t l = 0; l < choice.size(); ++l) sum += log_p[l][static_cast<size_t>(choice[l])];
  return sum;
}

std::vector<int64_t> argmax_choice(const Supernet& net) {
  std::vector<int64_t> choice;
  for (const std::vector<double>& p : net->probabilities())
    choice.push_back(static_cast<int64_t>(std::max_element(p.begin(), p.end()) - p.begin()));
  return choice;
}

// The archs to score: the argmax, the likeliest arch within the target (with a target), then
// `samples` distinct archs within the target drawn from softmax(theta) (--method random:
// uniformly). Draws over or under the target are rejected, not
// scored: a theta still spread over the space would otherwise leave a handful of its samples in
// the band (1-7 of 16 in the search-quality runs of 2026-12-03) against random search's full K.
std::vector<Candidate> draw_candidates(const SearchConfig& config, const Supernet& net, const DerivationInputs& in) {
  const std::vector<std::vector<double>> probabilities = net->probabilities();
  const std::vector<std::vector<double>> log_p = log_probabilities(net);
  std::mt19937_64 rng(derive_seed(config.seed, -2, 0, 0));
  std::vector<Candidate> out;
  auto add = [&](std::string name, std::vector<int64_t> choice) {
    for (const Candidate& c : out)
      if (c.choice == choice) return false;
    Candidate c;
    c.name = std::move(name);
    c.choice = std::move(choice);
    c.latency_us = arch_latency_us(in.latency_us, in.fixed_us, c.choice);
    c.log_likelihood = log_likelihood(log_p, c.choice);
    c.within_target = within_target(config, c.latency_us);
    out.push_back(std::move(c));
    return true;
  };
  const bool uniform = config.method == "random";
  std::vector<std::discrete_distribution<size_t>> layers;  // built once: up to 1000 x --samples draws
  for (const std::vector<double>& p : probabilities)
    layers.emplace_back(p.begin(), p.end());
  auto draw = [&] {
    std::vector<int64_t> choice;
    for (size_t l = 0; l < layers.size(); ++l) {
      const int64_t size = static_cast<int64_t>(probabilities[l].size());
      choice.push_back(uniform ? std::uniform_int_distribution<int64_t>(0, size - 1)(rng)
                               : static_cast<int64_t>(layers[l](rng)));
    }
    return choice;
  };
  if (!uniform) add("argmax", argmax_choice(net));
  if (!uniform && config.has_target()) {
    // The likeliest arch in the band, found exactly rather than hoped for among the draws; it is
    // the argmax itself when that is in the band.
    const double target_us = config.latency_target_ms * 1000.0;
    const Likeliest likeliest = likeliest_within(in.latency_us, in.fixed_us, log_p,
                                                 target_us * (1.0 - config.latency_tolerance),
                                                 target_us * (1.0 + config.latency_tolerance));
    if (likeliest.found) add("likeliest", likeliest.choice);
  }
  const std::string prefix = uniform ? "random " : "sample ";
  const int64_t max_draws = 1000 * config.samples;
  for (int64_t draws = 0, n = 0; n < config.samples && draws < max_draws; ++draws) {
    std::vector<int64_t> choice = draw();
    if (!within_target(config, arch_latency_us(in.latency_us, in.fixed_us, choice))) continue;
    if (add(prefix + std::to_string(n), std::move(choice))) ++n;
  }
  DNAS_CHECK(!out.empty(), "--method random: none of ", max_draws, " random archs is within ",
             100 * config.latency_tolerance, "% of --latency-target-ms ", config.latency_target_ms);
  return out;
}

void score(const SearchConfig& config, Supernet& net, const DerivationInputs& in, bool channels_last, Candidate& c,
           size_t index) {
  const ArchSample sample = choice_sample(net, c.choice);
  const bool recalibrate = config.recalibration_batches > 0;
  if (recalibrate)
    recalibrate_batch_norm(net, sample, in.data, in.w_split, config.batch_size, config.recalibration_batches,
                           derive_seed(config.seed, -2, 1, static_cast<int64_t>(index)), channels_last);
  c.accuracy = supernet_accuracy(net, sample, in.data, in.theta_split, config.batch_size,
                                 derive_seed(config.seed, -1, 1, -1), channels_last, recalibrate);
}

// The candidate within the target with the highest accuracy, or with --select likelihood the
// highest log-likelihood (fewer microseconds break ties); when none is within it, the one nearest
// to it.
size_t select_candidate(const std::vector<Candidate>& candidates, double target_us, const std::string& by) {
  const auto merit = [&](const Candidate& c) { return by == "likelihood" ? c.log_likelihood : c.accuracy; };
  size_t best = 0;
  bool found = false;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    if (!c.within_target) continue;
    const Candidate& b = candidates[best];
    if (!found || merit(c) > merit(b) || (merit(c) == merit(b) && c.latency_us < b.latency_us)) best = i;
    found = true;
  }
  if (found) return best;
  for (size_t i = 1; i < candidates.size(); ++i)
    if (std::abs(candidates[i].latency_us - target_us) < std::abs(candidates[best].latency_us - target_us)) best = i;
  return best;
}

std::vector<std::string> candidate_ops(Supernet& net, const std::vector<int64_t>& choice) {
  std::vector<std::string> ops;
  for (size_t l = 0; l < choice.size(); ++l)
    ops.push_back(net->layers[l]->as<MixedOpImpl>()->candidate_keys()[static_cast<size_t>(choice[l])]);
  return ops;
}

}  // namespace

size_t select_by_trials(const SearchConfig& config, std::vector<Candidate>& candidates, size_t fallback,
                        const TrialTrainer& train, const std::function<void(const Candidate&)>& on_trial) {
  std::vector<size_t> order;
  for (size_t i = 0; i < candidates.size(); ++i)
    if (candidates[i].within_target) order.push_back(i);
  if (order.empty()) return fallback;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return candidates[a].log_likelihood > candidates[b].log_likelihood;
  });
  if (static_cast<int64_t>(order.size()) > config.trial_candidates) order.resize(static_cast<size_t>(config.trial_candidates));
  // Where a round records its scores.
  struct RoundFields {
    double Candidate::*accuracy;
    double Candidate::*loss;
    double Candidate::*seconds;
    std::vector<double> Candidate::*accuracy_per_seed;  // nullptr: not kept
  };
  const RoundFields first_round{&Candidate::trial_accuracy, &Candidate::trial_loss, &Candidate::trial_seconds,
                                nullptr};
  const RoundFields final_round{&Candidate::final_trial_accuracy, &Candidate::final_trial_loss,
                                &Candidate::final_trial_seconds, &Candidate::final_trial_accuracies};
  // Each candidate of the round trained once per seed; its score is the mean over them.
  const auto run_round = [&](const std::vector<size_t>& round, int64_t epochs, const std::vector<uint64_t>& seeds,
                             const RoundFields& f) {
    for (size_t i : round) {
      Candidate& c = candidates[i];
      double accuracy = 0, loss = 0, seconds = 0;
      if (f.accuracy_per_seed) (c.*f.accuracy_per_seed).clear();
      for (uint64_t seed : seeds) {
        const TrialResult trial = train(c, epochs, seed);
        if (f.accuracy_per_seed) (c.*f.accuracy_per_seed).push_back(trial.accuracy);
        accuracy += trial.accuracy;
        loss += trial.loss;
        seconds += trial.seconds;
      }
      const double n = static_cast<double>(seeds.size());
      c.*f.accuracy = accuracy / n;
      c.*f.loss = loss / n;
      c.*f.seconds = seconds;
      if (on_trial) on_trial(c);
    }
  };
  // Higher is better: top-1, or the negated loss.
  const auto merit = [&](size_t i, const RoundFields& f) {
    return config.trial_metric == "loss" ? -(candidates[i].*f.loss) : candidates[i].*f.accuracy;
  };
  run_round(order, config.trial_epochs, {derive_seed(config.seed, -3, 0, 0)}, first_round);
  // Best first round first; stable, so ties keep the likelier first.
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return merit(a, first_round) > merit(b, first_round); });
  if (config.trial_finalists < 2 || order.size() < 2) return order.front();
  if (static_cast<int64_t>(order.size()) > config.trial_finalists) order.resize(static_cast<size_t>(config.trial_finalists));
  std::vector<uint64_t> final_seeds;
  for (int64_t s = 0; s < config.trial_final_seeds; ++s) final_seeds.push_back(derive_seed(config.seed, -3, 1, s));
  run_round(order, config.final_trial_epochs(), final_seeds, final_round);
  // The first of the best: ties go to the better first round.
  return *std::max_element(order.begin(), order.end(),
                           [&](size_t a, size_t b) { return merit(a, final_round) < merit(b, final_round); });
}

std::vector<Candidate> derive_architecture(const SearchConfig& config, Supernet& net, const DerivationInputs& in,
                                           bool channels_last, const std::function<void(const Candidate&)>& on_candidate,
                                           const std::function<void(const Candidate&)>& on_trial) {
  std::vector<Candidate> candidates = draw_candidates(config, net, in);
  for (size_t i = 0; i < candidates.size(); ++i) {
    score(config, net, in, channels_last, candidates[i], i);
    if (on_candidate) on_candidate(candidates[i]);
  }
  size_t chosen = select_candidate(candidates, config.latency_target_ms * 1000.0, config.select);
  if (config.select == "trained") {
    DNAS_ASSERT(in.space, "--select trained: the derivation needs the search space");
    TrialSettings settings;
    settings.images = config.trial_images;
    settings.batch_size = config.batch_size;
    settings.lr = config.lr_w;
    settings.momentum = config.momentum;
    settings.weight_decay = config.weight_decay;
    settings.channels_last = channels_last;
    const c10::Device device = net->parameters().front().device();
    const TrialTrainer train = [&](const Candidate& c, int64_t epochs, uint64_t seed) {
      settings.epochs = epochs;
      settings.seed = seed;
      return trial_train(in.space->derive(candidate_ops(net, c.choice)), in.data, in.w_split, in.theta_split,
                         settings, device);
    };
    chosen = select_by_trials(config, candidates, chosen, train, on_trial);
  }
  if (config.latency_constraint == "hard") {
    const std::vector<std::vector<double>> log_p = log_probabilities(net);
    const Projection p = project_onto_target(candidates[chosen].choice, in.latency_us, in.fixed_us, log_p,
                                             config.latency_target_ms * 1000.0);
    if (p.choice != candidates[chosen].choice) {
      Candidate projected;
      projected.name = "projected (" + candidates[chosen].name + ")";
      projected.choice = p.choice;
      projected.latency_us = p.latency_us;
      projected.log_likelihood = log_likelihood(log_p, p.choice);
      projected.within_target = p.fits && within_target(config, p.latency_us);
      score(config, net, in, channels_last, projected, candidates.size());
      if (on_candidate) on_candidate(projected);
      candidates.push_back(projected);
      chosen = candidates.size() - 1;
    }
  }
  candidates[chosen].selected = true;
  for (Candidate& c : candidates) c.ops = candidate_ops(net, c.choice);
  return candidates;
}

}  // namespace dnas

// Latency targets and schedules, as invariants: the target's penalty pushes theta towards cheaper
// candidates when over the target and towards dearer ones when under; the dual multiplier turns
// round; the projection never exceeds the target and finds what brute force finds on a space small
// enough to enumerate; the temperature reaches its endpoints for any run length; an impossible
// target names the reachable range.
#include <gtest/gtest.h>

#include <ATen/ops/stack.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include <cmath>
#include <limits>
#include <random>

#include "common/error.h"
#include "search/latency_target.h"
#include "search/schedule.h"
#include "search/search_step.h"
#include "tests/test_support.h"

namespace dnas {
namespace {

using dnas::testing::error_of;

// d(penalty)/d(theta) of one layer whose candidates cost `costs`, at uniform theta, when the
// expected latency is `over` times the target.
std::vector<double> penalty_gradient(TargetLoss form, double over, double lambda) {
  const std::vector<double> costs = {100.0, 10.0, 40.0};  // candidate 1 is the cheapest
  at::Tensor theta = at::zeros({3}, at::kDouble).requires_grad_();
  const at::Tensor latency = (theta.softmax(0) * at::tensor(costs, at::kDouble)).sum();
  const double expected = 50.0, target = expected / over;
  target_penalty(latency, form, target, 5.0, at::tensor(lambda, at::kDouble)).backward();
  const at::Tensor g = theta.grad();
  return {g[0].item<double>(), g[1].item<double>(), g[2].item<double>()};
}

TEST(TargetPenalty, PushesTowardsCheaperCandidatesWhenOverAndDearerWhenUnder) {
  for (TargetLoss form : {TargetLoss::kAbsolute, TargetLoss::kDual}) {
    SCOPED_TRACE(form == TargetLoss::kAbsolute ? "absolute" : "dual");
    // Over the target (dual: lambda > 0, where the dual step drives it): gradient descent raises
    // the cheapest candidate's logit and lowers the dearest one's.
    std::vector<double> g = penalty_gradient(form, 1.5, 2.0);
    EXPECT_LT(g[1], 0);
    EXPECT_GT(g[0], 0);
    // Under the target (dual: lambda < 0): the other way round.
    g = penalty_gradient(form, 0.5, -2.0);
    EXPECT_GT(g[1], 0);
    EXPECT_LT(g[0], 0);
  }
  // A hinge is a budget: nothing below it.
  for (double gi : penalty_gradient(TargetLoss::kHinge, 0.5, 0)) { EXPECT_EQ(gi, 0.0); }
}

// REINFORCE's surrogate: each arch's weight is its loss minus the mean of the others' (exactly),
// so descending it raises the probability of the arch that scored best and lowers the worst's.
TEST(ReinforceSurrogate, WeighsEachArchByItsLossAgainstTheOthersMean) {
  at::Tensor log_probs = at::zeros({3}, at::kDouble).requires_grad_();
  reinforce_surrogate(at::tensor(std::vector<double>{1.0, 2.0, 3.0}, at::kDouble), log_probs).backward();
  // Baselines 2.5, 2 and 1.5; weights (-1.5, 0, 1.5) / 3.
  const at::Tensor g = log_probs.grad();
  EXPECT_DOUBLE_EQ(g[0].item<double>(), -0.5);
  EXPECT_DOUBLE_EQ(g[1].item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(g[2].item<double>(), 0.5);

  // Through softmax(theta): arch 0 took candidate 0 and lost less than arch 1, which took candidate 2.
  at::Tensor theta = at::zeros({3}, at::kDouble).requires_grad_();
  const at::Tensor log_p = theta.log_softmax(0);
  reinforce_surrogate(at::tensor(std::vector<double>{0.5, 2.0}, at::kDouble), at::stack({log_p[0], log_p[2]}))
      .backward();
  EXPECT_LT(theta.grad()[0].item<double>(), 0);  // a descent step raises candidate 0
  EXPECT_GT(theta.grad()[2].item<double>(), 0);
  EXPECT_NEAR(theta.grad()[1].item<double>(), 0.0, 1e-15);  // neither drew it, and the weights cancel
  // Equal losses: no signal at all.
  theta.grad().zero_();
  const at::Tensor again = theta.log_softmax(0);
  reinforce_surrogate(at::tensor(std::vector<double>{1.0, 1.0}, at::kDouble), at::stack({again[0], again[2]}))
      .backward();
  for (int k = 0; k < 3; ++k) EXPECT_EQ(theta.grad()[k].item<double>(), 0.0);
}

TEST(PathFromDraws, InvertsEachLayersCdf) {
  // Layer 0: probabilities (0.25, 0.25, 0.5); layer 1: a CDF that rounding left below 1.
  const std::vector<std::vector<double>> cdfs = {{0.25, 0.5, 1.0}, {0.5, 1.0 - 1e-12}};
  const auto path = [&](double u0, double u1) {
    const double draws[] = {u0, u1};
    return path_from_draws(cdfs, draws);
  };
  EXPECT_EQ(path(0.0, 0.0), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(path(0.2499, 0.4999), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(path(0.25, 0.5), (std::vector<int64_t>{1, 1}));  // a draw on a boundary takes the next candidate
  EXPECT_EQ(path(0.6, 0.9), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(path(0.999999, 1.0 - 1e-13), (std::vector<int64_t>{2, 1}));  // past the last sum: the last candidate

  // A layer whose every draw lands in proportion to its probabilities: 10,000 evenly spaced draws.
  std::vector<int64_t> counts(3, 0);
  for (int i = 0; i < 10000; ++i) {
    const double draws[] = {(i + 0.5) / 10000.0, 0.0};
    ++counts[static_cast<size_t>(path_from_draws(cdfs, draws)[0])];
  }
  EXPECT_EQ(counts, (std::vector<int64_t>{2500, 2500, 5000}));
}

TEST(DualStep, RisesWhileOverTurnsRoundWhenUnderAndStaysBounded) {
  double lambda = 0;
  for (int i = 0; i < 10; ++i) lambda = dual_step(lambda, 1200, 1000, 0.5, 3.0);
  EXPECT_NEAR(lambda, 1.0, 1e-12);  // 10 x 0.5 x 0.2
  for (int i = 0; i < 100; ++i) lambda = dual_step(lambda, 500, 1000, 0.5, 3.0);
  EXPECT_EQ(lambda, -3.0);
  EXPECT_EQ(dual_step(0, 1e9, 1, 1, 3.0), 3.0);
}

std::vector<std::vector<double>> random_table(std::mt19937_64& rng, size_t layers, size_t candidates) {
  std::uniform_real_distribution<double> cost(1.0, 100.0);
  std::vector<std::vector<double>> t(layers, std::vector<double>(candidates));
  for (auto& row : t)
    for (double& v : row) v = cost(rng);
  return t;
}

// Every arch of a space small enough to enumerate: the best total preference of those whose
// latency lies in [low, high].
double brute_force_best(const std::vector<std::vector<double>>& latency, double fixed,
                        const std::vector<std::vector<double>>& preference, double low, double high, bool& feasible) {
  const size_t layers = latency.size(), k = latency[0].size();
  size_t total = 1;
  for (size_t l = 0; l < layers; ++l) total *= k;
  double best = -1e300;
  feasible = false;
  for (size_t code = 0; code < total; ++code) {
    std::vector<int64_t> choice;
    double pref = 0;
    for (size_t l = 0, c = code; l < layers; ++l, c /= k) {
      choice.push_back(static_cast<int64_t>(c % k));
      pref += preference[l][c % k];
    }
    const double lat = arch_latency_us(latency, fixed, choice);
    if (lat >= low && lat <= high) {
      feasible = true;
      best = std::max(best, pref);
    }
  }
  return best;
}

TEST(Projection, NeverExceedsTheTargetAndFindsWhatBruteForceFinds) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  int cases = 0, optimal = 0;
  double worst_gap = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const auto latency = random_table(rng, 4, 3);
    std::vector<std::vector<double>> preference(4, std::vector<double>(3));
    for (auto& row : preference)
      for (double& v : row) v = std::log(0.05 + unit(rng));
    const LatencyRange range = reachable_latency(latency, 7.0);
    const double target = range.min_us + unit(rng) * 1.2 * (range.max_us - range.min_us) - 0.1 * range.min_us;
    std::vector<int64_t> start(4);
    for (int64_t& c : start) c = static_cast<int64_t>(unit(rng) * 3) % 3;
    const Projection p = project_onto_target(start, latency, 7.0, preference, target);
    bool feasible = false;
    const double best = brute_force_best(latency, 7.0, preference, -std::numeric_limits<double>::infinity(), target,
                                         feasible);
    EXPECT_EQ(p.fits, feasible) << "trial " << trial;
    if (!feasible) continue;
    ++cases;
    EXPECT_LE(p.latency_us, target) << "trial " << trial;
    EXPECT_DOUBLE_EQ(p.latency_us, arch_latency_us(latency, 7.0, p.choice));
    double pref = 0;
    for (size_t l = 0; l < 4; ++l) pref += preference[l][static_cast<size_t>(p.choice[l])];
    EXPECT_LE(pref, best + 1e-12);
    optimal += pref >= best - 1e-12;
    worst_gap = std::max(worst_gap, best - pref);
  }
  ASSERT_GT(cases, 100);
  // Greedy shrink-then-expand is not exact for every multiple-choice knapsack, but on these
  // spaces it finds the brute-force optimum nearly always.
  EXPECT_GE(optimal, cases * 9 / 10) << optimal << " of " << cases << " optimal; worst gap " << worst_gap;
}

TEST(Projection, KeepsAnArchThatAlreadyFitsAndSpendsWhatIsLeft) {
  const std::vector<std::vector<double>> latency = {{10, 30}, {10, 30}};
  const std::vector<std::vector<double>> preference = {{std::log(0.2), std::log(0.8)}, {std::log(0.3), std::log(0.7)}};
  // Over: downgrade the layer that loses least preference per microsecond (layer 1: 0.84 vs 1.39).
  Projection p = project_onto_target({1, 1}, latency, 0, preference, 45);
  EXPECT_EQ(p.choice, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(p.downgrades, 1);
  // Under with room: upgrade while it fits.
  p = project_onto_target({0, 0}, latency, 0, preference, 45);
  EXPECT_EQ(p.choice, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(p.upgrades, 1);
  p = project_onto_target({1, 1}, latency, 0, preference, 60);
  EXPECT_EQ(p.choice, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(p.downgrades + p.upgrades, 0);
}

// The likeliest arch within a band is exact: on spaces small enough to enumerate (5 layers of 4
// candidates, whole-microsecond latencies, so no two prefixes share a 0.1 us bin unless they
// spend the same), it finds the brute-force optimum of every band, lies in the band, and reports
// that no arch lies in a band that none reaches.
TEST(Likeliest, FindsWhatBruteForceFindsWithinEveryBand) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<int> cost(1, 120);
  int feasible_cases = 0, empty_cases = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const size_t layers = 5, k = 4;
    std::vector<std::vector<double>> latency(layers, std::vector<double>(k)), preference = latency;
    for (size_t l = 0; l < layers; ++l)
      for (size_t i = 0; i < k; ++i) {
        latency[l][i] = cost(rng);
        preference[l][i] = std::log(0.01 + unit(rng));
      }
    const LatencyRange range = reachable_latency(latency, 7.0);
    const double centre = range.min_us + unit(rng) * (range.max_us - range.min_us);
    const double half = trial % 3 == 0 ? 0.4 : 0.05 * centre;  // narrow bands are often empty
    const double low = centre - half, high = centre + half;
    bool feasible = false;
    const double best = brute_force_best(latency, 7.0, preference, low, high, feasible);
    const Likeliest found = likeliest_within(latency, 7.0, preference, low, high);
    ASSERT_EQ(found.found, feasible) << "trial " << trial;
    if (!feasible) {
      ++empty_cases;
      continue;
    }
    ++feasible_cases;
    EXPECT_DOUBLE_EQ(found.latency_us, arch_latency_us(latency, 7.0, found.choice)) << "trial " << trial;
    EXPECT_GE(found.latency_us, low) << "trial " << trial;
    EXPECT_LE(found.latency_us, high) << "trial " << trial;
    double pref = 0;
    for (size_t l = 0; l < layers; ++l) pref += preference[l][static_cast<size_t>(found.choice[l])];
    EXPECT_NEAR(pref, best, 1e-12) << "trial " << trial;
  }
  EXPECT_GT(feasible_cases, 150);
  EXPECT_GT(empty_cases, 10);
}

TEST(TargetRange, AnImpossibleTargetNamesTheRange) {
  const LatencyRange r = reachable_latency({{100, 300}, {50, 200}}, 25);
  EXPECT_EQ(r.min_us, 175);
  EXPECT_EQ(r.max_us, 525);
  EXPECT_EQ(error_of([&] { check_target_reachable(0.1, r, "space tiny on host-cpu"); }),
            "--latency-target-ms 0.1: outside what space tiny on host-cpu can reach (0.175 - 0.525 ms)");
  EXPECT_EQ(error_of([&] { check_target_reachable(0.3, r, "x"); }), "<no error>");
}

TEST(Schedule, TemperatureReachesItsEndpointsForAnyRunLength) {
  SearchConfig c;
  c.schedule = "anneal";
  c.tau0 = 5.0;
  c.tau_min = 0.1;
  for (int64_t epochs : {1, 2, 4, 90}) {
    for (int64_t steps : {1, 7, 100}) {
      c.epochs = epochs;
      SCOPED_TRACE(std::to_string(epochs) + " epochs x " + std::to_string(steps) + " steps");
      if (epochs * steps > 1) { EXPECT_DOUBLE_EQ(temperature(c, 0, 0, steps), 5.0); }
      EXPECT_NEAR(temperature(c, epochs - 1, steps - 1, steps), 0.1, 1e-12);
      double previous = 1e9;
      for (int64_t e = 0; e < epochs; e += std::max<int64_t>(1, epochs / 5))
        for (int64_t s = 0; s < steps; s += std::max<int64_t>(1, steps / 3)) {
          const double tau = temperature(c, e, s, steps);
          EXPECT_LE(tau, previous);
          previous = tau;
        }
    }
  }
  c.schedule = "exp";  // the paper's: a fixed factor per epoch, whatever the run's length
  c.tau_decay = 0.5;
  EXPECT_DOUBLE_EQ(temperature(c, 3, 10, 20), 5.0 * 0.125);
}

TEST(Schedule, WarmupIsAFractionOfTheRunAndThetaStepsFollowTheCadence) {
  SearchConfig c;
  c.epochs = 10;
  c.warmup_fraction = 0.25;
  EXPECT_FALSE(theta_trains(c, 2, 49, 100));  // 2.49 epochs < 2.5
  EXPECT_TRUE(theta_trains(c, 2, 50, 100));
  c.warmup_epochs = 3;
  EXPECT_FALSE(theta_trains(c, 2, 99, 100));
  EXPECT_TRUE(theta_trains(c, 3, 0, 100));
  c.theta_every = 3;
  EXPECT_FALSE(theta_step_due(c, 0));
  EXPECT_TRUE(theta_step_due(c, 2));
  c.theta_every = 0;
  EXPECT_FALSE(theta_step_due(c, 2));
  c.lr_theta = 0;  // automatic: 30 / theta steps, within [0.01, 0.3]
  EXPECT_DOUBLE_EQ(c.resolved_lr_theta(300), 0.1);
  EXPECT_DOUBLE_EQ(c.resolved_lr_theta(10), 0.3);
  EXPECT_DOUBLE_EQ(c.resolved_lr_theta(100000), 0.01);
}

}  // namespace
}  // namespace dnas

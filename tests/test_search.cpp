// The DNAS search: MixedOp against plain blocks, theta gradients against finite differences, the
// latency-aware loss, convergence on toy problems, both sampling modes, exact resume, the report.
#include <gtest/gtest.h>

#include <ATen/ops/allclose.h>
#include <ATen/ops/bincount.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/full.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/tensor.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/sgd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <tuple>

#include "latency_lut/lut_store.h"
#include "latency_lut/profiler.h"
#include "ops/block_module.h"
#include "common/error.h"
#include "ops/registry.h"
#include "data/binary_formats.h"
#include "data/dataset.h"
#include "report/report.h"
#include "search/derivation.h"
#include "search/search_loop.h"
#include "supernet/config_store.h"
#include "supernet/network.h"
#include "supernet/supernet.h"
#include "tests/test_support.h"

namespace dnas {
namespace {

namespace fs = std::filesystem;
using dnas::testing::TempDir;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

nlohmann::json last_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return nlohmann::json::parse(last);
}

TEST(MixedOp, OneHotWeightsEqualTheStandaloneBlock) {
  torch::manual_seed(0);
  const std::vector<std::string> keys = {"ir_k3_e3", "ir_k5_e1_g2", "shift_k3_e3", "fire_sr0.25", "skip"};
  BlockArgs args;
  args.input = {16, 8, 8};
  args.out_channels = 16;
  args.stride = 1;
  MixedOp mixed(keys, std::vector<BlockArgs>(keys.size(), args));
  mixed->eval();
  const torch::Tensor x = at::randn({2, 16, 8, 8});
  for (size_t i = 0; i < keys.size(); ++i) {
    torch::nn::AnyModule plain = make_block(OpRegistry::builtin().at(keys[i], "t"), args);
    auto mixed_params = mixed->candidates[i]->named_parameters();
    for (auto& p : plain.ptr()->named_parameters()) p.value().detach().copy_(mixed_params[p.key()]);
    auto mixed_buffers = mixed->candidates[i]->named_buffers();
    for (auto& b : plain.ptr()->named_buffers()) b.value().copy_(mixed_buffers[b.key()]);
    plain.ptr()->eval();
    const torch::Tensor expected = plain.forward(x);
    EXPECT_TRUE(at::allclose(mixed->forward(x, one_hot_sample(5, static_cast<int64_t>(i), torch::kCPU)), expected))
        << keys[i];
    // A soft sample that is exactly one-hot runs every candidate and must agree too.
    LayerSample soft;
    soft.weights = one_hot_sample(5, static_cast<int64_t>(i), torch::kCPU).weights;
    soft.index = -1;
    EXPECT_TRUE(at::allclose(mixed->forward(x, soft), expected, 1e-5, 1e-6)) << keys[i];
  }
}

// Loads `state` (MixedOpImpl::candidate_state) into a fresh standalone block of `key` at `args`.
torch::nn::AnyModule standalone_block(const std::string& key, const BlockArgs& args,
                                      const std::vector<std::pair<std::string, torch::Tensor>>& state) {
  torch::nn::AnyModule plain = make_block(OpRegistry::builtin().at(key, "t"), args);
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  torch::NoGradGuard no_grad;
  for (auto& p : plain.ptr()->named_parameters()) {
    EXPECT_EQ(by_name.count(p.key()), 1u) << key << ": " << p.key();
    p.value().copy_(by_name.at(p.key()));
  }
  for (auto& b : plain.ptr()->named_buffers()) b.value().copy_(by_name.at(b.key()));
  EXPECT_EQ(by_name.size(), plain.ptr()->named_parameters().size() + plain.ptr()->named_buffers().size()) << key;
  return plain;
}

const std::vector<std::string> kNestedKeys = {"ir_k3_e1", "ir_k3_e3", "ir_k5_e6", "ir_k5_e1_g2", "ir_k3_e1_g2",
                                              "shift_k3_e3", "fire_sr0.25", "skip", "ir_k5_e3_se"};

BlockArgs nested_args() {
  BlockArgs args;
  args.input = {8, 6, 6};
  args.out_channels = 8;
  args.stride = 1;
  return args;
}

TEST(MixedOp, NestedSharingOneHotEqualsTheStandaloneBlockWithItsSlices) {
  torch::manual_seed(1);
  MixedOp mixed(kNestedKeys, std::vector<BlockArgs>(kNestedKeys.size(), nested_args()), WeightSharing::kNested);
  // The IR and shift convs share three weights of the largest shape: pw 48x8, dw 48 x 5x5, pwl 8x48.
  const auto params = mixed->named_parameters();
  ASSERT_NE(params.find("shared.pw_conv"), nullptr);
  EXPECT_EQ(params["shared.pw_conv"].sizes(), (std::vector<int64_t>{48, 8, 1, 1}));
  EXPECT_EQ(params["shared.dw_conv"].sizes(), (std::vector<int64_t>{48, 1, 5, 5}));
  EXPECT_EQ(params["shared.pwl_conv"].sizes(), (std::vector<int64_t>{8, 48, 1, 1}));
  EXPECT_EQ(params.find("candidates.2.dw.conv.weight"), nullptr);
  EXPECT_NE(params.find("candidates.2.dw.bn.weight"), nullptr);       // BatchNorm stays per candidate
  EXPECT_NE(params.find("candidates.6.squeeze.conv.weight"), nullptr);  // biased (Fire): its own
  EXPECT_NE(params.find("candidates.8.se.fc1.weight"), nullptr);
  mixed->eval();
  const torch::Tensor x = at::randn({2, 8, 6, 6});
  for (size_t i = 0; i < kNestedKeys.size(); ++i) {
    torch::nn::AnyModule plain = standalone_block(kNestedKeys[i], nested_args(), mixed->candidate_state(i));
    plain.ptr()->eval();
    const torch::Tensor expected = plain.forward(x);
    const int64_t k = static_cast<int64_t>(kNestedKeys.size());
    EXPECT_TRUE(at::allclose(mixed->forward(x, one_hot_sample(k, static_cast<int64_t>(i), torch::kCPU)), expected, 1e-5,
                             1e-6))
        << kNestedKeys[i];
    LayerSample soft{one_hot_sample(k, static_cast<int64_t>(i), torch::kCPU).weights, -1};
    EXPECT_TRUE(at::allclose(mixed->forward(x, soft), expected, 1e-5, 1e-6)) << kNestedKeys[i];
  }
  // Channels-last (the search's default layout) computes the same.
  const int64_t count = static_cast<int64_t>(kNestedKeys.size());
  std::vector<torch::Tensor> nchw;
  for (int64_t i = 0; i < count; ++i) nchw.push_back(mixed->forward(x, one_hot_sample(count, i, torch::kCPU)));
  use_channels_last(*mixed);
  for (int64_t i = 0; i < count; ++i) {
    const torch::Tensor nhwc = mixed->forward(to_channels_last(x), one_hot_sample(count, i, torch::kCPU));
    EXPECT_TRUE(at::allclose(nhwc, nchw[static_cast<size_t>(i)], 1e-5, 1e-6)) << kNestedKeys[static_cast<size_t>(i)];
  }
}

TEST(MixedOp, NestedSlicesAreTheCentreAndTheFirstChannelsOfTheLargest) {
  torch::manual_seed(2);
  MixedOp mixed(kNestedKeys, std::vector<BlockArgs>(kNestedKeys.size(), nested_args()), WeightSharing::kNested);
  auto state = [&](size_t candidate, const std::string& name) {
    for (const auto& [key, value] : mixed->candidate_state(candidate))
      if (key == name) return value;
    ADD_FAILURE() << name;
    return torch::Tensor();
  };
  const torch::Tensor big_pw = state(2, "pw.conv.weight"), big_dw = state(2, "dw.conv.weight");
  const torch::Tensor big_pwl = state(2, "pwl.conv.weight");
  // ir_k3_e3: the first 24 filters, the centre 3x3.
  EXPECT_TRUE(at::equal(state(1, "pw.conv.weight"), big_pw.narrow(0, 0, 24)));
  EXPECT_TRUE(at::equal(state(1, "dw.conv.weight"), big_dw.narrow(0, 0, 24).narrow(2, 1, 3).narrow(3, 1, 3)));
  EXPECT_TRUE(at::equal(state(1, "pwl.conv.weight"), big_pwl.narrow(1, 0, 24)));
  // ir_k3_e1_g2: two groups of 4 filters, group j over inputs 4j..4j+3. A shuffle over 2 groups
  // follows, sending filter o to channel (o mod 4) * 2 + o / 4, where the dw reads shared filter
  // that channel's: so its filters are shared filters 0, 2, 4, 6 and 1, 3, 5, 7.
  const torch::Tensor grouped = state(4, "pw.conv.weight");
  EXPECT_EQ(grouped.sizes(), (std::vector<int64_t>{8, 4, 1, 1}));
  const auto rows = [&](std::vector<int64_t> r) { return big_pw.index_select(0, at::tensor(r)); };
  EXPECT_TRUE(at::equal(grouped.narrow(0, 0, 4), rows({0, 2, 4, 6}).narrow(1, 0, 4)));
  EXPECT_TRUE(at::equal(grouped.narrow(0, 4, 4), rows({1, 3, 5, 7}).narrow(1, 4, 4)));
  // Its pwl (no shuffle after it): the diagonal blocks of the first 8 input channels, in order.
  const torch::Tensor grouped_pwl = state(4, "pwl.conv.weight");
  EXPECT_TRUE(at::equal(grouped_pwl.narrow(0, 0, 4), big_pwl.narrow(0, 0, 4).narrow(1, 0, 4)));
  EXPECT_TRUE(at::equal(grouped_pwl.narrow(0, 4, 4), big_pwl.narrow(0, 4, 4).narrow(1, 4, 4)));
  // Shared: fewer weights than separate candidates.
  MixedOp separate(kNestedKeys, std::vector<BlockArgs>(kNestedKeys.size(), nested_args()));
  EXPECT_LT(count_parameters(*mixed), count_parameters(*separate));
}

// One step on the path of ir_k5_e6 changes what ir_k3_e3 computes when they share, and leaves it
// alone when they do not.
TEST(MixedOp, AHardStepOnOnePathTrainsTheOthersOnlyWhenShared) {
  for (WeightSharing sharing : {WeightSharing::kNested, WeightSharing::kSeparate}) {
    torch::manual_seed(3);
    MixedOp mixed(kNestedKeys, std::vector<BlockArgs>(kNestedKeys.size(), nested_args()), sharing);
    mixed->eval();  // BN uses running statistics: the outputs depend on the weights alone
    const int64_t k = static_cast<int64_t>(kNestedKeys.size());
    const torch::Tensor x = at::randn({2, 8, 6, 6});
    const torch::Tensor before = mixed->forward(x, one_hot_sample(k, 1, torch::kCPU)).detach();
    torch::optim::SGD sgd(mixed->parameters(), torch::optim::SGDOptions(0.1));
    mixed->forward(x, one_hot_sample(k, 2, torch::kCPU)).square().sum().backward();
    sgd.step();
    const torch::Tensor after = mixed->forward(x, one_hot_sample(k, 1, torch::kCPU)).detach();
    EXPECT_EQ(at::equal(before, after), sharing == WeightSharing::kSeparate) << static_cast<int>(sharing);
  }
}

TEST(SearchConfig, WeightSharingIsNestedInHardModeAndSeparateInConfigsWrittenBeforeIt) {
  SearchConfig config;
  EXPECT_EQ(config.resolved_weight_sharing(), "separate");
  config.mode = "hard";
  EXPECT_EQ(config.resolved_weight_sharing(), "nested");
  config.weight_sharing = "separate";
  EXPECT_EQ(config.resolved_weight_sharing(), "separate");
  Json saved = config_to_json(config);
  EXPECT_EQ(saved["format"], "dnas-search/3");
  saved.erase("weight_sharing");
  saved["weight_sharing"] = "auto";
  EXPECT_EQ(config_from_json(saved, "new.json").resolved_weight_sharing(), "nested");
  saved.erase("weight_sharing");
  saved["format"] = "dnas-search/2";  // a hard-mode search from before: it resumes as it ran
  EXPECT_EQ(config_from_json(saved, "old.json").resolved_weight_sharing(), "separate");
}

const char* kTinySpace = R"(format: dnas-space/1
name: tiny
input_size: 8
input_channels: 1
num_classes: 2
candidates: [ir_k3_e6, skip]
stem: [{op: conv_k3, out: 8}]
stages: [{out: 8, repeats: 3, stride: 1}]
head: [{op: avgpool}, {op: fc}]
)";

TEST(Supernet, ThetaGradientMatchesFiniteDifferences) {
  torch::manual_seed(3);
  const SearchSpace space = parse_space_text(kTinySpace, "tiny.yaml");
  Supernet net(space);
  net->to(torch::kDouble);
  net->eval();  // fixed BN statistics: the loss is a smooth function of theta
  const torch::Tensor x = at::randn({4, 1, 8, 8}, torch::kDouble);
  const torch::Tensor y = torch::tensor({0, 1, 1, 0}, torch::kLong);
  const std::vector<torch::Tensor> table(3, torch::tensor({300.0, 2.0}, torch::kDouble));
  auto loss_at = [&](bool grad) {
    torch::manual_seed(11);  // the same Gumbel noise every evaluation
    const ArchSample sample = net->sample(1.5, SampleMode::kSoft, NoiseScope::kPerBatch, 4);
    const torch::Tensor ce = torch::nn::functional::cross_entropy(net->forward(x, sample), y);
    const torch::Tensor loss = latency_aware_loss(ce, net->expected_latency_us(sample, table, 50.0), 0.2, 0.6);
    if (grad) loss.backward();
    return loss.item<double>();
  };
  loss_at(true);
  const double h = 1e-6;
  for (const torch::Tensor& theta : net->theta_parameters()) {
    const torch::Tensor analytic = theta.grad().clone();
    for (int64_t i = 0; i < theta.size(0); ++i) {
      const double original = theta[i].item<double>();
      theta.detach()[i] = original + h;
      const double up = loss_at(false);
      theta.detach()[i] = original - h;
      const double down = loss_at(false);
      theta.detach()[i] = original;
      EXPECT_NEAR(analytic[i].item<double>(), (up - down) / (2 * h), 1e-6);
    }
  }
}

TEST(Supernet, SamplesEveryLayerAsLayerByLayerSamplingWould) {
  const SearchSpace space = parse_space_text(kTinySpace, "tiny.yaml");
  torch::manual_seed(2);
  Supernet net(space);
  for (const torch::Tensor& theta : net->theta_parameters()) theta.detach().normal_();
  for (SampleMode mode : {SampleMode::kSoft, SampleMode::kHard}) {
    for (NoiseScope scope : {NoiseScope::kPerBatch, NoiseScope::kPerSample}) {
      torch::manual_seed(9);
      const ArchSample all = net->sample(0.7, mode, scope, 3);
      torch::manual_seed(9);
      const std::vector<torch::Tensor> thetas = net->theta_parameters();
      ASSERT_EQ(all.size(), thetas.size());
      for (size_t l = 0; l < thetas.size(); ++l) {
        const LayerSample one = sample_layer(thetas[l], 0.7, mode, scope, 3);
        EXPECT_EQ(all[l].index, one.index);
        EXPECT_TRUE(at::equal(all[l].weights, one.weights));
        if (mode == SampleMode::kHard) {
          EXPECT_EQ(all[l].index, one.weights.detach().argmax().item<int64_t>());
          EXPECT_DOUBLE_EQ(all[l].weights.detach()[all[l].index].item<double>(), 1.0);
        }
      }
    }
  }
}

TEST(Loss, PowerAppliesToTheLog) {
  const torch::Tensor ce = torch::tensor(1.5, torch::kDouble);
  const torch::Tensor lat = torch::tensor(std::exp(8.0), torch::kDouble);
  // 1.5 * 0.2 * (log LAT)^0.6 with log LAT = 8; the known bug would give 1.5 * 0.2 * 0.6 * 8.
  EXPECT_NEAR(latency_aware_loss(ce, lat, 0.2, 0.6).item<double>(), 1.5 * 0.2 * std::pow(8.0, 0.6), 1e-12);
  EXPECT_GT(std::abs(latency_aware_loss(ce, lat, 0.2, 0.6).item<double>() - 1.5 * 0.2 * 0.6 * 8.0), 0.1);
}

TEST(Supernet, ExpectedLatencyIsTheWeightedTableSum) {
  const SearchSpace space = parse_space_text(kTinySpace, "tiny.yaml");
  Supernet net(space);
  ArchSample sample;
  for (int l = 0; l < 3; ++l) {
    LayerSample s;
    s.weights = torch::tensor({0.25, 0.75});
    sample.push_back(s);
  }
  const std::vector<torch::Tensor> table = {torch::tensor({100.0, 4.0}), torch::tensor({200.0, 8.0}),
                                            torch::tensor({400.0, 16.0})};
  EXPECT_NEAR(net->expected_latency_us(sample, table, 10.0).item<double>(),
              10 + 0.25 * (100 + 200 + 400) + 0.75 * (4 + 8 + 16), 1e-4);
}

// A latency table for the tiny space at 8x8, 1 channel, 2 classes where ir_k3_e6 costs `e6_us`
// and every other block `other_us`.
std::string slow_e6_table(const TempDir& dir, double e6_us = 50000, double other_us = 5,
                          const std::string& name = "tiny.db") {
  const std::string db = dir.file(name);
  const SearchSpace space = parse_space_text(kTinySpace, "tiny.yaml");
  const TargetSpec target = load_target("host-cpu");
  LutStore store(db, OpenMode::kCreate);
  ProfileOptions options;
  options.timing.warmup = 0;
  options.timing.repeats = 1;
  const auto blocks = enumerate_space_blocks(resolve_space(space), {});
  run_profile(store, target, plan_profile(store, target, blocks, options), options, {});
  store.db().exec("UPDATE measurements SET median_us = " + std::to_string(e6_us) + " WHERE op = 'ir_k3_e6'");
  store.db().exec("UPDATE measurements SET median_us = " + std::to_string(other_us) + " WHERE op <> 'ir_k3_e6'");
  return db;
}

SearchConfig tiny_config(const TempDir& dir, const std::string& out) {
  SearchConfig c;
  c.space = dir.file("tiny.yaml");
  c.target = "host-cpu";
  c.data = "synthetic:256:8:1:2";
  c.out = dir.file(out);
  c.epochs = 4;
  c.batch_size = 16;
  c.warmup_epochs = 1;
  c.lr_theta = 0.05;
  c.seed = 7;
  return c;
}

// FBNet's multiplicative loss lets accuracy outweigh latency once a costly block lowers the
// cross-entropy; a latency budget is additive, so an over-budget candidate must lose.
TEST(Search, ConvergesToTheCheapCandidateUnderALatencyBudget) {
  TempDir dir;
  std::ofstream(dir.file("tiny.yaml")) << kTinySpace;
  SearchConfig c = tiny_config(dir, "run");
  c.db = slow_e6_table(dir);
  c.latency_target_ms = 1.0;  // each ir_k3_e6 costs 50 ms in this table
  c.epochs = 6;
  c.w_fraction = 0.5;  // more theta steps
  c.lr_theta = 0.1;
  const SearchResult result = run_search(c, false, nullptr, {});
  EXPECT_EQ(result.choices, (std::vector<std::string>{"skip", "skip", "skip"}));
  EXPECT_FALSE(result.latency_estimated);
  const nlohmann::json theta = last_jsonl(dir.file("run/theta.jsonl"));
  for (const auto& p : theta["probabilities"]) { EXPECT_GT(p[1].get<double>(), 0.6); }
}

// One candidate 10x cheaper than the other and a target at the cheapest arch: every layer must
// end on it, in both target forms.
TEST(Search, ConvergesToTheTenTimesCheaperCandidate) {
  TempDir dir;
  std::ofstream(dir.file("tiny.yaml")) << kTinySpace;
  for (const std::string estimator : {"gumbel", "reinforce"}) {
    for (const std::string form : {"absolute", "dual"}) {
      const std::string run = "run_" + form + "_" + estimator;
      SCOPED_TRACE(run);
      SearchConfig c = tiny_config(dir, run);
      c.db = slow_e6_table(dir, 100, 10, "ten_" + run + ".db");
      c.latency_target_ms = 0.06;  // stem + head 30 us, and 3 x 10 us of skip
      c.target_loss = form;
      c.theta_estimator = estimator;
      c.lr_theta = 0;  // automatic
      const SearchResult result = run_search(c, false, nullptr, {});
      EXPECT_EQ(result.choices, (std::vector<std::string>{"skip", "skip", "skip"}));
      EXPECT_NEAR(result.predicted_latency_ms, 0.06, 1e-9);
      EXPECT_TRUE(result.target_met);
    }
  }
}

Supernet seeded_tiny_supernet(uint64_t seed) {
  torch::manual_seed(seed);
  return Supernet(parse_space_text(kTinySpace, "tiny.yaml"));
}

// The tiny space's supernet (weights from `seed`) and 64 synthetic 8x8 images, all in one split.
struct TinyDerivation {
  explicit TinyDerivation(uint64_t seed) : net(seeded_tiny_supernet(seed)), data(make_synthetic(64, 8, 1, 2, 3)) {
    for (int64_t i = 0; i < 64; ++i) split.push_back(i);
  }
  Supernet net;
  Dataset data;
  std::vector<int64_t> split;
};

// Recalibration re-estimates the running statistics of the BatchNorms on the path, and touches
// nothing else: no weight, no theta, no other BatchNorm.
TEST(Derivation, BatchNormRecalibrationChangesOnlyThePathsRunningStatistics) {
  TinyDerivation tiny(4);
  Supernet& net = tiny.net;
  const Dataset& data = tiny.data;
  const std::vector<int64_t>& split = tiny.split;
  std::map<std::string, at::Tensor> before;
  for (const auto& p : net->named_parameters()) before[p.key()] = p.value().detach().clone();
  for (const auto& b : net->named_buffers()) before[b.key()] = b.value().detach().clone();
  const std::vector<int64_t> choice = {0, 1, 0};  // ir_k3_e6, skip, ir_k3_e6
  recalibrate_batch_norm(net, choice_sample(net, choice), data, split, 16, 4, 1, false);
  int changed = 0;
  for (const auto& p : net->named_parameters()) { EXPECT_TRUE(at::equal(p.value(), before[p.key()])) << p.key(); }
  for (const auto& b : net->named_buffers()) {
    const std::string& key = b.key();
    const bool on_path = key.rfind("stem.", 0) == 0 || key.rfind("head.", 0) == 0 ||
                         key.rfind("layers.0.candidates.0.", 0) == 0 || key.rfind("layers.2.candidates.0.", 0) == 0;
    const bool same = at::equal(b.value(), before[key]);
    if (!on_path) {
      EXPECT_TRUE(same) << key << " is off the path";
    }
    if (on_path && key.find("running_mean") != std::string::npos) {
      EXPECT_FALSE(same) << key;
      ++changed;
    }
  }
  EXPECT_GT(changed, 3);
  // Cumulative averages over exactly the 4 batches.
  for (const auto& b : net->named_buffers())
    if (b.key() == "stem.0.bn.num_batches_tracked") { EXPECT_EQ(b.value().item<int64_t>(), 4); }
}

// The samples are drawn within the target, so theta's preference is sampled where the result may
// lie: on a 3-layer space of {ir_k3_e6: 100 us, skip: 10 us} and 30 us fixed, a target of 150 us
// holds exactly the three archs with one ir_k3_e6. Every draw is scored only when it is one of them,
// however theta leans, and both methods find all three.
TEST(Derivation, SamplesAreDrawnWithinTheTarget) {
  TinyDerivation tiny(5);
  Supernet& net = tiny.net;
  const std::vector<std::vector<double>> latency_us(3, {100.0, 10.0});
  const DerivationInputs in{tiny.data, tiny.split, tiny.split, latency_us, 30.0};
  const std::set<std::vector<int64_t>> band = {{0, 1, 1}, {1, 0, 1}, {1, 1, 0}};
  for (const char* method : {"dnas", "random"}) {
    for (const double skip_logit : {0.0, 3.0}) {  // uniform theta, and one that leans to skip (p = 0.95)
      at::NoGradGuard no_grad;
      for (const at::Tensor& theta : net->theta_parameters()) theta[1].fill_(skip_logit);
      SearchConfig c;
      c.method = method;
      c.latency_target_ms = 0.15;
      c.samples = 16;
      c.batch_size = 16;
      c.recalibration_batches = 1;
      const std::vector<Candidate> candidates = derive_architecture(c, net, in, false);
      std::set<std::vector<int64_t>> sampled;
      for (const Candidate& candidate : candidates) {
        if (candidate.name == "argmax") continue;
        EXPECT_TRUE(candidate.within_target) << method << " " << candidate.name;
        EXPECT_EQ(band.count(candidate.choice), 1u) << method << " " << candidate.name;
        sampled.insert(candidate.choice);
      }
      EXPECT_EQ(sampled, band) << method << ", skip logit " << skip_logit;
      EXPECT_EQ(candidates.size(), std::string(method) == "dnas" ? 4u : 3u) << method;  // + the argmax
    }
  }
}

// --select likelihood hands back the candidate within the target that softmax(theta) makes
// likeliest, not the most accurate one: on the space above, theta is set so that the likeliest of
// the three archs in the band is one that --select accuracy did not choose, while the argmax (two
// ir_k3_e6, 240 us) is likelier still but over the target.
TEST(Derivation, SelectLikelihoodTakesTheLikeliestCandidateWithinTheTarget) {
  TinyDerivation tiny(5);
  Supernet& net = tiny.net;
  const std::vector<std::vector<double>> latency_us(3, {100.0, 10.0});
  const DerivationInputs in{tiny.data, tiny.split, tiny.split, latency_us, 30.0};
  SearchConfig c;
  c.latency_target_ms = 0.15;
  c.samples = 16;
  c.batch_size = 16;
  c.recalibration_batches = 1;
  auto selected = [](const std::vector<Candidate>& candidates) {
    const auto it = std::find_if(candidates.begin(), candidates.end(), [](const Candidate& x) { return x.selected; });
    EXPECT_NE(it, candidates.end());
    return *it;
  };
  const std::vector<Candidate> by_accuracy = derive_architecture(c, net, in, false);
  const Candidate most_accurate = selected(by_accuracy);
  for (const Candidate& x : by_accuracy)
    if (x.within_target) { EXPECT_LE(x.accuracy, most_accurate.accuracy) << x.name; }

  // The one ir_k3_e6 of the band arch `wanted` (not the most accurate) gets logit 2, another
  // layer's ir_k3_e6 logit 1, the third layer's skip logit 2.
  const std::vector<int64_t> wanted = most_accurate.choice == std::vector<int64_t>{0, 1, 1}
                                          ? std::vector<int64_t>{1, 0, 1}
                                          : std::vector<int64_t>{0, 1, 1};
  const size_t strong = wanted[0] == 0 ? 0 : 1, weak = strong == 0 ? 1 : 0;
  {
    at::NoGradGuard no_grad;
    const std::vector<at::Tensor> thetas = net->theta_parameters();
    for (const at::Tensor& theta : thetas) theta.zero_();
    thetas[strong][0].fill_(2.0);
    thetas[weak][0].fill_(1.0);
    thetas[2][1].fill_(2.0);
  }
  c.select = "likelihood";
  const std::vector<Candidate> by_likelihood = derive_architecture(c, net, in, false);
  const Candidate likeliest = selected(by_likelihood);
  EXPECT_EQ(likeliest.choice, wanted);
  // log p = log sigmoid(2) + log sigmoid(-1) + log sigmoid(2) for the wanted arch.
  const auto log_sigmoid = [](double x) { return -std::log1p(std::exp(-x)); };
  EXPECT_NEAR(likeliest.log_likelihood, 2 * log_sigmoid(2) + log_sigmoid(-1), 1e-6);  // theta is fp32
  const Candidate& argmax = by_likelihood.front();
  ASSERT_EQ(argmax.name, "argmax");
  EXPECT_FALSE(argmax.within_target);
  EXPECT_GT(argmax.log_likelihood, likeliest.log_likelihood);
  for (const Candidate& x : by_likelihood)
    if (x.within_target) { EXPECT_LE(x.log_likelihood, likeliest.log_likelihood) << x.name; }
}

// The tiny supernet with its space, a table where the second candidate is 10x cheaper, and its
// 64 images split 48 / 16 into trial training and scoring: what --select trained needs.
struct TrialDerivation {
  TinyDerivation tiny{6};
  SearchSpace space = parse_space_text(kTinySpace, "tiny.yaml");
  std::vector<std::vector<double>> latency_us = std::vector<std::vector<double>>(3, {100.0, 10.0});
  std::vector<int64_t> train{tiny.split.begin(), tiny.split.begin() + 48};
  std::vector<int64_t> held_out{tiny.split.begin() + 48, tiny.split.end()};
  DerivationInputs in{tiny.data, train, held_out, latency_us, 30.0, &space};
};

// --select trained trains the --trial-candidates likeliest candidates within the target from
// scratch and keeps the most accurate (ties: the likelier). On the space above theta orders the
// three band archs; with two trials exactly the two likeliest are trained, the winner has the best
// trial score, and the scores neither vary between runs nor depend on the supernet's weights.
TEST(Derivation, SelectTrainedTrainsTheLikeliestWithinTheTargetFromScratch) {
  TrialDerivation trial;
  Supernet& net = trial.tiny.net;
  const DerivationInputs& in = trial.in;
  {
    at::NoGradGuard no_grad;
    const std::vector<at::Tensor> thetas = net->theta_parameters();
    for (const at::Tensor& theta : thetas) theta.zero_();
    thetas[0][0].fill_(2.0);  // band archs by likelihood: {0,1,1}, then {1,0,1}, then {1,1,0}
    thetas[1][0].fill_(1.0);
    thetas[2][1].fill_(2.0);
  }
  SearchConfig c;
  c.latency_target_ms = 0.15;
  c.samples = 16;
  c.batch_size = 16;
  c.recalibration_batches = 1;
  c.select = "trained";
  c.trial_candidates = 2;
  c.trial_epochs = 2;
  c.trial_finalists = 0;
  const std::vector<Candidate> first = derive_architecture(c, net, in, false);
  std::set<std::vector<int64_t>> trained;
  const Candidate* winner = nullptr;
  for (const Candidate& x : first) {
    if (x.selected) winner = &x;
    if (x.trial_accuracy < 0) continue;
    trained.insert(x.choice);
    EXPECT_TRUE(x.within_target) << x.name;
    EXPECT_LE(x.trial_accuracy, 1.0) << x.name;
    EXPECT_TRUE(std::isfinite(x.trial_loss) && x.trial_loss > 0) << x.name << ": " << x.trial_loss;
  }
  EXPECT_EQ(trained, (std::set<std::vector<int64_t>>{{0, 1, 1}, {1, 0, 1}}));
  ASSERT_NE(winner, nullptr);
  ASSERT_GE(winner->trial_accuracy, 0);
  for (const Candidate& x : first) {
    if (x.trial_accuracy < 0) continue;
    EXPECT_LE(x.trial_accuracy, winner->trial_accuracy) << x.name;
    if (x.trial_accuracy == winner->trial_accuracy) { EXPECT_LE(x.log_likelihood, winner->log_likelihood) << x.name; }
  }

  // From scratch: other supernet weights (theta kept) give the same trials, bit for bit.
  {
    at::NoGradGuard no_grad;
    for (const at::Tensor& w : net->weight_parameters()) w.add_(0.5);
  }
  const std::vector<Candidate> second = derive_architecture(c, net, in, false);
  ASSERT_EQ(second.size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(second[i].choice, first[i].choice) << first[i].name;
    EXPECT_EQ(second[i].trial_accuracy, first[i].trial_accuracy) << first[i].name;
    EXPECT_EQ(second[i].trial_loss, first[i].trial_loss) << first[i].name;
    EXPECT_EQ(second[i].selected, first[i].selected) << first[i].name;
  }
}

// select_by_trials with a scripted trainer: the --trial-candidates likeliest within the target get
// a first trial of --trial-epochs (one seed), the --trial-finalists best of them a final trial of
// final_trial_epochs() (another seed), and the final round decides even against the first.
TEST(Derivation, SuccessiveHalvingTrialsTheLikeliestAndTheFinalRoundDecides) {
  const auto candidate = [](const std::string& name, double log_p, bool within) {
    Candidate c;
    c.name = name;
    c.log_likelihood = log_p;
    c.within_target = within;
    return c;
  };
  const std::vector<Candidate> pool{candidate("outside", -1, false), candidate("a", -2, true),
                                    candidate("b", -3, true), candidate("c", -4, true), candidate("d", -5, true)};
  std::map<std::string, std::pair<double, double>> scripted{
      {"a", {0.70, 0.99}}, {"b", {0.80, 0.81}}, {"c", {0.75, 0.85}}, {"d", {0.99, 0.99}}};
  std::map<std::string, std::pair<double, double>> scripted_loss;  // empty: every loss 0
  std::vector<std::tuple<std::string, int64_t, uint64_t>> calls;
  const TrialTrainer train = [&](const Candidate& c, int64_t epochs, uint64_t seed) {
    const bool first = std::none_of(calls.begin(), calls.end(), [&](const auto& call) { return std::get<0>(call) == c.name; });
    calls.emplace_back(c.name, epochs, seed);
    TrialResult r;
    r.accuracy = first ? scripted.at(c.name).first : scripted.at(c.name).second;
    if (scripted_loss.count(c.name)) r.loss = first ? scripted_loss.at(c.name).first : scripted_loss.at(c.name).second;
    return r;
  };
  SearchConfig config;
  config.trial_candidates = 3;  // a, b, c: the likeliest within the target; d is not trialled
  config.trial_epochs = 2;
  config.trial_finalists = 2;  // b (0.80) and c (0.75); a (0.70) stops
  std::vector<Candidate> cs = pool;
  int progress = 0;
  const size_t won = select_by_trials(config, cs, 0, train, [&](const Candidate&) { ++progress; });
  EXPECT_EQ(cs[won].name, "c");  // 0.85 > 0.81 in the final round, though b led the first
  EXPECT_EQ(progress, 5);
  ASSERT_EQ(calls.size(), 5u);
  const uint64_t first_seed = std::get<2>(calls[0]);
  const uint64_t final_seed = std::get<2>(calls[3]);
  EXPECT_NE(first_seed, final_seed);
  using Call = std::tuple<std::string, int64_t, uint64_t>;
  EXPECT_EQ(calls, (std::vector<Call>{{"a", 2, first_seed}, {"b", 2, first_seed}, {"c", 2, first_seed},
                                      {"b", 6, final_seed}, {"c", 6, final_seed}}));
  EXPECT_EQ(cs[1].trial_accuracy, 0.70);
  EXPECT_EQ(cs[1].final_trial_accuracy, -1);
  EXPECT_EQ(cs[2].final_trial_accuracy, 0.81);
  EXPECT_EQ(cs[3].final_trial_accuracy, 0.85);
  EXPECT_EQ(cs[4].trial_accuracy, -1);

  // --trial-final-epochs overrides three times --trial-epochs.
  config.trial_final_epochs = 4;
  cs = pool;
  calls.clear();
  select_by_trials(config, cs, 0, train);
  EXPECT_EQ(std::get<1>(calls.back()), 4);

  // Without a final round the first decides: b.
  config.trial_finalists = 0;
  cs = pool;
  calls.clear();
  EXPECT_EQ(cs[select_by_trials(config, cs, 0, train)].name, "b");
  EXPECT_EQ(calls.size(), 3u);

  // Ties: in the first round the likelier, in the final the better first round.
  scripted = {{"a", {0.80, 0.90}}, {"b", {0.80, 0.90}}, {"c", {0.75, 0.95}}};
  cs = pool;
  calls.clear();
  EXPECT_EQ(cs[select_by_trials(config, cs, 0, train)].name, "a");
  config.trial_finalists = 2;
  scripted = {{"a", {0.70, 0.90}}, {"b", {0.75, 0.90}}, {"c", {0.80, 0.90}}};
  cs = pool;
  calls.clear();
  EXPECT_EQ(cs[select_by_trials(config, cs, 0, train)].name, "c");

  // --trial-metric loss: the lower loss wins each round, whatever top-1 says. By top-1, a and b
  // would be the finalists and b would win.
  scripted = {{"a", {0.80, 0.90}}, {"b", {0.75, 0.95}}, {"c", {0.70, 0.99}}};
  scripted_loss = {{"a", {0.50, 0.40}}, {"b", {0.60, 0.30}}, {"c", {0.55, 0.35}}};
  cs = pool;
  calls.clear();
  EXPECT_EQ(cs[select_by_trials(config, cs, 0, train)].name, "b");
  config.trial_metric = "loss";
  cs = pool;
  calls.clear();
  EXPECT_EQ(cs[select_by_trials(config, cs, 0, train)].name, "c");  // finalists a and c; 0.35 < 0.40
  EXPECT_EQ(cs[2].trial_loss, 0.60);
  EXPECT_EQ(cs[2].final_trial_accuracy, -1);  // b stopped after the first round
  EXPECT_EQ(cs[3].final_trial_loss, 0.35);
  config.trial_metric = "accuracy";

  // Nothing within the target: the fallback, and nothing trained.
  cs = {candidate("x", -1, false), candidate("y", -2, false)};
  calls.clear();
  EXPECT_EQ(select_by_trials(config, cs, 1, train), 1u);
  EXPECT_TRUE(calls.empty());
}

// --trial-final-seeds: each finalist is trained once per seed (the same seeds for every finalist,
// none of them the first round's, the first of them the one a single-seed final uses), and the
// mean of its scores ranks it: one lucky seed no longer wins the final.
TEST(Derivation, FinalRoundScoresTheMeanOverItsSeeds) {
  const auto candidate = [](const std::string& name, double log_p) {
    Candidate c;
    c.name = name;
    c.log_likelihood = log_p;
    return c;
  };
  const std::vector<Candidate> pool{candidate("a", -1), candidate("b", -2)};
  // Per candidate, the scores of its successive trials: the first round, then the final's seeds.
  std::map<std::string, std::vector<double>> scripted{{"a", {0.80, 0.90, 0.70}}, {"b", {0.75, 0.85, 0.85}}};
  std::vector<std::pair<std::string, uint64_t>> calls;
  const TrialTrainer train = [&](const Candidate& c, int64_t, uint64_t seed) {
    const size_t nth = static_cast<size_t>(
        std::count_if(calls.begin(), calls.end(), [&](const auto& call) { return call.first == c.name; }));
    calls.emplace_back(c.name, seed);
    TrialResult r;
    r.accuracy = scripted.at(c.name).at(nth);
    r.loss = 1 - r.accuracy;
    r.seconds = 1;
    return r;
  };
  SearchConfig config;
  config.trial_finalists = 2;
  std::vector<Candidate> cs = pool;
  EXPECT_EQ(cs[select_by_trials(config, cs, 0, train)].name, "a");  // one seed: a's lucky 0.90
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_TRUE(candidate_to_json(cs[0]).count("final_trial_accuracies_theta_split") == 0);  // one seed: no list
  const uint64_t first_seed = calls[0].second, final_seed = calls[2].second;

  config.trial_final_seeds = 2;
  cs = pool;
  calls.clear();
  int progress = 0;
  EXPECT_EQ(cs[select_by_trials(config, cs, 0, train, [&](const Candidate&) { ++progress; })].name, "b");
  EXPECT_EQ(progress, 4);  // once per candidate and round, not per seed
  ASSERT_EQ(calls.size(), 6u);
  const uint64_t second_final_seed = calls[3].second;
  using Call = std::pair<std::string, uint64_t>;
  EXPECT_EQ(calls, (std::vector<Call>{{"a", first_seed}, {"b", first_seed}, {"a", final_seed},
                                      {"a", second_final_seed}, {"b", final_seed}, {"b", second_final_seed}}));
  EXPECT_NE(second_final_seed, final_seed);
  EXPECT_NE(second_final_seed, first_seed);
  EXPECT_DOUBLE_EQ(cs[0].final_trial_accuracy, 0.80);  // (0.90 + 0.70) / 2
  EXPECT_DOUBLE_EQ(cs[1].final_trial_accuracy, 0.85);
  EXPECT_DOUBLE_EQ(cs[0].final_trial_loss, 0.20);
  EXPECT_EQ(cs[0].final_trial_seconds, 2);  // the sum: the round's cost
  EXPECT_EQ(cs[0].trial_accuracy, 0.80);    // the first round is one seed still
  EXPECT_EQ(cs[0].final_trial_accuracies, (std::vector<double>{0.90, 0.70}));
  EXPECT_EQ(candidate_to_json(cs[1]).at("final_trial_accuracies_theta_split"), Json::array({0.85, 0.85}));
}

// --trial-finalists (successive halving): of three first-round trials exactly the two best are
// trained again, for --trial-final-epochs; the winner is the best of that final round whatever
// the first round said; the final trials are reproducible.
TEST(Derivation, FinalTrialsRetrainTheBestOfTheFirstRoundAndDecide) {
  TrialDerivation trial;
  Supernet& net = trial.tiny.net;
  const DerivationInputs& in = trial.in;
  SearchConfig c;
  c.latency_target_ms = 0.15;  // the three band archs {0,1,1}, {1,0,1}, {1,1,0} are within it
  c.samples = 16;
  c.batch_size = 16;
  c.recalibration_batches = 1;
  c.select = "trained";
  c.trial_candidates = 3;
  c.trial_epochs = 1;
  c.trial_finalists = 2;
  c.trial_final_epochs = 2;
  const std::vector<Candidate> first = derive_architecture(c, net, in, false);
  std::vector<const Candidate*> trialled, finalists;
  const Candidate* winner = nullptr;
  for (const Candidate& x : first) {
    if (x.selected) winner = &x;
    if (x.trial_accuracy >= 0) trialled.push_back(&x);
    if (x.final_trial_accuracy >= 0) finalists.push_back(&x);
  }
  ASSERT_EQ(trialled.size(), 3u);
  ASSERT_EQ(finalists.size(), 2u);
  ASSERT_NE(winner, nullptr);
  ASSERT_GE(winner->final_trial_accuracy, 0);
  for (const Candidate* f : finalists) {
    EXPECT_LE(f->final_trial_accuracy, winner->final_trial_accuracy) << f->name;
    for (const Candidate* t : trialled)
      if (t->final_trial_accuracy < 0) { EXPECT_GE(f->trial_accuracy, t->trial_accuracy) << f->name << " vs " << t->name; }
  }
  const Json json = candidate_to_json(*winner);
  EXPECT_EQ(json.at("final_trial_accuracy_theta_split").get<double>(), winner->final_trial_accuracy);

  const std::vector<Candidate> again = derive_architecture(c, net, in, false);
  ASSERT_EQ(again.size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(again[i].final_trial_accuracy, first[i].final_trial_accuracy) << first[i].name;
    EXPECT_EQ(again[i].selected, first[i].selected) << first[i].name;
  }

  // Without a final round the same first round decides, and nothing is trained twice.
  c.trial_finalists = 0;
  const std::vector<Candidate> one_round = derive_architecture(c, net, in, false);
  double best_first = -1;
  for (const Candidate& x : one_round) {
    EXPECT_LT(x.final_trial_accuracy, 0) << x.name;
    best_first = std::max(best_first, x.trial_accuracy);
  }
  const auto chosen = std::find_if(one_round.begin(), one_round.end(), [](const Candidate& x) { return x.selected; });
  ASSERT_NE(chosen, one_round.end());
  EXPECT_EQ(chosen->trial_accuracy, best_first);
}

TEST(Search, SoftAndHardModesBothLearn) {
  TempDir dir;
  std::ofstream(dir.file("tiny.yaml")) << kTinySpace;
  for (const std::string mode : {"soft", "hard", "reinforce"}) {
    SearchConfig c = tiny_config(dir, "run_" + mode);
    c.mode = mode == "soft" ? "soft" : "hard";
    if (mode == "reinforce") c.theta_estimator = "reinforce";  // hard mode's w steps
    c.epochs = 5;
    const SearchResult result = run_search(c, false, nullptr, {});
    ASSERT_EQ(result.epochs.size(), 5u);
    EXPECT_GT(result.epochs.back().w_accuracy, 0.8) << mode;
    EXPECT_LT(result.epochs.back().w_loss, result.epochs.front().w_loss) << mode;
    EXPECT_LT(result.epochs.back().theta_entropy, std::log(2.0) - 1e-4) << mode << ": theta never moved";
    EXPECT_TRUE(result.latency_estimated);  // no table for this space: labelled estimates
  }
}

// Resume is exact with every piece of state: the interleaved theta batches, the schedule, the
// dual multiplier, the derivation (candidates, recalibration, projection) after it, and hard
// mode's shared weights.
TEST(Search, ResumeAfterAnInterruptIsExact) {
  TempDir dir;
  std::ofstream(dir.file("tiny.yaml")) << kTinySpace;
  std::ofstream(dir.file("shared.yaml"))
      << std::regex_replace(kTinySpace, std::regex("candidates: \\[ir_k3_e6, skip\\]"),
                            "candidates: [ir_k3_e3, ir_k5_e6, skip]");
  for (const std::string kind : {"plain", "target", "hard", "reinforce"}) {
    SCOPED_TRACE(kind == "target"      ? "dual target, hard constraint"
                 : kind == "hard"      ? "hard mode, nested"
                 : kind == "reinforce" ? "REINFORCE, dual target"
                                       : "no target");
    const bool target = kind == "target" || kind == "reinforce";
    const std::string tag = kind == "plain" ? "" : "_" + kind;
    auto config = [&](const std::string& out) {
      SearchConfig c = tiny_config(dir, out + tag);
      if (kind == "hard") {
        c.mode = "hard";  // nested weight sharing, by default
        c.space = dir.file("shared.yaml");
      }
      if (target) {
        c.db = dir.file("tiny.db");
        c.latency_target_ms = 0.035;  // all skip: 0.03 ms; any ir_k3_e6: 50 ms
        c.target_loss = "dual";
        c.dual_lr = 0.5;
        c.latency_constraint = "hard";
        c.samples = 3;
      }
      if (kind == "reinforce") {
        c.theta_estimator = "reinforce";
        c.reinforce_paths = 3;
        c.latency_constraint = "soft";
      }
      return c;
    };
    if (kind == "target") slow_e6_table(dir);  // REINFORCE's searches, after these, share it
    const SearchResult expected = run_search(config("whole"), false, nullptr, {});

    std::atomic<bool> stop{false};
    SearchCallbacks callbacks;
    callbacks.on_step = [&](const SearchProgress& p) {
      if (p.epoch == 2 && p.phase == "w" && p.step == 3) stop = true;  // mid-epoch, after warm-up
    };
    const SearchResult first = run_search(config("split"), false, &stop, callbacks);
    ASSERT_TRUE(first.interrupted);
    const SearchResult resumed = run_search(config("split"), true, nullptr, {});
    EXPECT_FALSE(resumed.interrupted);
    EXPECT_EQ(resumed.choices, expected.choices);
    const nlohmann::json a = last_jsonl(dir.file("whole" + tag + "/theta.jsonl")),
                         b = last_jsonl(dir.file("split" + tag + "/theta.jsonl"));
    EXPECT_EQ(a["theta"], b["theta"]);  // bit-identical
    EXPECT_EQ(slurp(dir.file("whole" + tag + "/theta.jsonl")), slurp(dir.file("split" + tag + "/theta.jsonl")));
    EXPECT_EQ(slurp(dir.file("whole" + tag + "/candidates.json")), slurp(dir.file("split" + tag + "/candidates.json")));
    // Every epoch appears once in the resumed log, and the multiplier is carried over.
    std::ifstream log(dir.file("split" + tag + "/log.jsonl"));
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(log, line);)
      if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
    EXPECT_EQ(lines.size(), 4u);
    const nlohmann::json whole_last = last_jsonl(dir.file("whole" + tag + "/log.jsonl"));
    EXPECT_EQ(lines.back()["lambda"], whole_last["lambda"]);
    if (target) { EXPECT_NE(whole_last["lambda"].get<double>(), 0.0); }
    const auto arch = nlohmann::json::parse(slurp(dir.file("split" + tag + "/arch.json")));
    EXPECT_EQ(arch["origin"]["weight_sharing"], kind == "hard" ? "nested" : "separate");
  }

  SearchConfig c = tiny_config(dir, "split");
  c.epochs = 5;
  try {
    run_search(c, true, nullptr, {});
    FAIL() << "a changed config must not resume";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("epochs 4 -> 5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run_search(tiny_config(dir, "whole"), false, nullptr, {}), Error);  // would overwrite a run
  EXPECT_THROW(run_search(tiny_config(dir, "nothing"), true, nullptr, {}), Error);  // nothing to resume
}

// A minimal XML well-formedness check: every tag closes in order, attributes are quoted.
bool well_formed(const std::string& text, std::string& problem) {
  std::vector<std::string> stack;
  const std::regex tag(R"(<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z_:][a-zA-Z0-9_:.-]*="[^"<]*")*)\s*(/?)>|<!DOCTYPE html>)");
  size_t position = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), tag); it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    const std::string between = text.substr(position, static_cast<size_t>(m.position()) - position);
    if (between.find('<') != std::string::npos) {
      problem = "unparsed markup near: " + between.substr(between.find('<'), 60);
      return false;
    }
    position = static_cast<size_t>(m.position() + m.length());
    if (m[2].length() == 0) continue;  // doctype
    if (m[4] == "/") continue;
    if (m[1] == "/") {
      if (stack.empty() || stack.back() != m[2]) {
        problem = "unexpected </" + m[2].str() + ">";
        return false;
      }
      stack.pop_back();
    } else {
      stack.push_back(m[2]);
    }
  }
  if (!stack.empty()) problem = "unclosed <" + stack.back() + ">";
  return stack.empty();
}

TEST(Report, IsSelfContainedWellFormedHtml) {
  TempDir dir;
  std::ofstream(dir.file("tiny.yaml")) << kTinySpace;
  SearchConfig c = tiny_config(dir, "run");
  c.epochs = 2;
  run_search(c, false, nullptr, {});
  EXPECT_EQ(write_report(dir.file("run")), dir.file("run/report.html"));
  const std::string html = slurp(dir.file("run/report.html"));
  std::string problem;
  EXPECT_TRUE(well_formed(html, problem)) << problem;
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("layer 2"), std::string::npos);      // a heatmap per layer
  EXPECT_NE(html.find("ESTIMATES"), std::string::npos);    // estimated latency is labelled
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org"));  // only namespaces, no fetches
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(Dataset, GzippedIdxFilesReadLikePlainOnes) {
  TempDir dir;
  const Dataset synthetic = make_synthetic(20, 28, 1, 10, 1);
  write_idx_images(dir.file("train-images-idx3-ubyte"), synthetic.images.squeeze(1));
  write_idx_labels(dir.file("train-labels-idx1-ubyte"), synthetic.labels);
  ASSERT_EQ(std::system(("gzip -n " + dir.file("train-images-idx3-ubyte") + " " + dir.file("train-labels-idx1-ubyte")).c_str()), 0);
  ASSERT_FALSE(fs::exists(dir.file("train-images-idx3-ubyte")));
  const Dataset loaded = load_dataset(dir.file(""), true);  // detected from the .gz names
  EXPECT_EQ(loaded.name, "mnist");
  EXPECT_TRUE(at::equal(loaded.images, synthetic.images));
  EXPECT_TRUE(at::equal(loaded.labels, synthetic.labels));

  fs::resize_file(dir.file("train-images-idx3-ubyte.gz"), fs::file_size(dir.file("train-images-idx3-ubyte.gz")) / 2);
  EXPECT_EQ(dnas::testing::error_of([&] { load_dataset("mnist:" + dir.file(""), true); }),
            dir.file("train-images-idx3-ubyte.gz") + ": not a valid gzip file (truncated)");
  std::ofstream(dir.file("train-images-idx3-ubyte.gz"), std::ios::trunc) << "not gzip at all";
  EXPECT_NE(dnas::testing::error_of([&] { load_dataset("mnist:" + dir.file(""), true); })
                .find("train-images-idx3-ubyte.gz: not a valid gzip file ("),
            std::string::npos);
  fs::remove(dir.file("train-images-idx3-ubyte.gz"));
  EXPECT_NE(dnas::testing::error_of([&] { load_dataset("mnist:" + dir.file(""), true); })
                .find("train-images-idx3-ubyte: missing, and no train-images-idx3-ubyte.gz either"),
            std::string::npos);
}

// Debian's dataset-fashion-mnist (scripts/setup.sh installs it): 60,000 + 10,000 gzipped images,
// 6,000 + 1,000 of each class. Without the package, the error says which one to install.
TEST(Dataset, FashionMnistFromItsDebianPackage) {
  if (!fs::exists(kFashionMnistDir)) {
    EXPECT_NE(dnas::testing::error_of([] { load_dataset("fashion-mnist", true); })
                  .find("install Debian's dataset-fashion-mnist"),
              std::string::npos);
    return;
  }
  const Dataset train = load_dataset("fashion-mnist", true), test = load_dataset("fashion-mnist", false);
  EXPECT_EQ(train.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(test.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(train.num_classes, 10);
  EXPECT_TRUE(at::equal(at::bincount(train.labels), at::full({10}, 6000, at::kLong)));
  EXPECT_TRUE(at::equal(at::bincount(test.labels), at::full({10}, 1000, at::kLong)));
  EXPECT_EQ(train.source, "fashion-mnist");
}

TEST(Dataset, MnistIdxRoundTripAndMislabelledFiles) {
  TempDir dir;
  const Dataset synthetic = make_synthetic(20, 28, 1, 10, 1);
  write_idx_images(dir.file("train-images-idx3-ubyte"), synthetic.images.squeeze(1));
  write_idx_labels(dir.file("train-labels-idx1-ubyte"), synthetic.labels);
  const Dataset loaded = load_dataset("mnist:" + dir.file(""), true);
  EXPECT_TRUE(at::equal(loaded.images, synthetic.images));
  EXPECT_TRUE(at::equal(loaded.labels, synthetic.labels));
  EXPECT_EQ(load_dataset(dir.file(""), true).name, "mnist");  // detected from the files

  write_idx_labels(dir.file("train-labels-idx1-ubyte"), synthetic.labels.slice(0, 0, 19));
  try {
    load_dataset("mnist:" + dir.file(""), true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("19 labels for 20 images"), std::string::npos) << e.what();
  }
  at::Tensor bad = synthetic.labels.clone();
  bad[3] = 12;
  write_idx_labels(dir.file("train-labels-idx1-ubyte"), bad);
  try {
    load_dataset("mnist:" + dir.file(""), true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label 12 is outside 0..9"), std::string::npos) << e.what();
  }
  std::ofstream(dir.file("data_batch_1.bin")) << "short";
  try {
    load_dataset("cifar10:" + dir.file(""), true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a multiple of the 3073-byte CIFAR-10 record"), std::string::npos) << e.what();
  }
  // Headers that announce more than the file holds, or sizes past the limits, never reach a tensor.
  const auto header = [](uint32_t count, uint32_t rows, uint32_t cols) {
    std::string bytes;
    for (uint32_t v : {2051u, count, rows, cols})
      for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>((v >> shift) & 0xff);
    return bytes + std::string(64, '\0');
  };
  EXPECT_THROW(parse_idx_images(header(0xffffffffu, 8192, 8192), "x"), Error);
  try {
    parse_idx_images(header(4, 0xffffffffu, 0xffffffffu), "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than the 8192 pixels per side accepted"), std::string::npos) << e.what();
  }
  EXPECT_EQ(parse_idx_images(header(4, 4, 4), "x").count, 4);  // 16 + 64 bytes: exactly what it announces
}

// Every search recipe shipped in configs/searches/ reads and passes validation, and the two that
// claim to be something hold it: small_budget is bench/search_quality.sh's setting, fbnet_paper
// the FBNet paper's numbers (REFERENCE.md, "FBNet search procedure").
SearchConfig recipe(const std::string& name) {
  const ConfigText text = require_config(ConfigKind::kSearchRecipe, name);
  return config_from_json(parse_json_text(text.text, text.origin), text.origin);
}

TEST(SearchRecipes, EveryBuiltInRecipeReadsAndValidates) {
  const std::vector<std::string> names = config_names(ConfigKind::kSearchRecipe);
  EXPECT_EQ(names, (std::vector<std::string>{"fbnet_paper", "small_budget"}));
  for (const std::string& name : names) EXPECT_NO_THROW(recipe(name).validate()) << name;
}

TEST(SearchRecipes, SmallBudgetIsTheBenchmarkSettingAndFbnetPaperThePapers) {
  const SearchConfig small = recipe("small_budget");
  EXPECT_EQ(small.mode, "hard");
  EXPECT_EQ(small.w_sampling, "uniform");
  EXPECT_EQ(small.resolved_weight_sharing(), "nested");
  EXPECT_EQ(small.theta_estimator, "reinforce");
  EXPECT_EQ(small.select, "trained");
  EXPECT_EQ(small.trial_candidates, 8);
  EXPECT_EQ(small.trial_epochs, 1);
  EXPECT_EQ(small.trial_finalists, 2);
  EXPECT_EQ(small.epochs, 6);

  const SearchConfig paper = recipe("fbnet_paper");
  EXPECT_EQ(paper.space, "fbnet");
  EXPECT_EQ(paper.mode, "soft");
  EXPECT_EQ(paper.schedule, "exp");
  EXPECT_DOUBLE_EQ(paper.tau0, 5.0);
  EXPECT_NEAR(paper.tau_decay, std::exp(-0.045), 1e-10);
  EXPECT_EQ(paper.epochs, 90);
  EXPECT_DOUBLE_EQ(paper.resolved_warmup(), 10.0);
  EXPECT_EQ(paper.theta_every, 0);  // a w epoch, then a theta epoch
  EXPECT_DOUBLE_EQ(paper.w_fraction, 0.8);
  EXPECT_DOUBLE_EQ(paper.alpha, 0.2);
  EXPECT_DOUBLE_EQ(paper.beta, 0.6);
  EXPECT_DOUBLE_EQ(paper.lr_w, 0.1);
  EXPECT_DOUBLE_EQ(paper.momentum, 0.9);
  EXPECT_DOUBLE_EQ(paper.weight_decay, 1e-4);
  EXPECT_DOUBLE_EQ(paper.resolved_lr_theta(1000), 0.01);
  EXPECT_EQ(paper.lr_theta_schedule, "constant");
  EXPECT_DOUBLE_EQ(paper.theta_weight_decay, 5e-4);
  EXPECT_FALSE(paper.has_target());
  EXPECT_EQ(paper.samples, 6);
}

TEST(SearchRecipes, AnUnknownKeyInARecipeNamesTheFileAndKey) {
  const fs::path file = fs::temp_directory_path() / "dnas_recipe_typo.json";
  std::ofstream(file) << R"({"format": "dnas-search-recipe/1", "description": "x", "tau_0": 5})";
  try {
    recipe(file.string());
    ADD_FAILURE() << "a recipe with an unknown key was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("tau_0"), std::string::npos) << e.what();
  }
  fs::remove(file);
}

}  // namespace
}  // namespace dnas

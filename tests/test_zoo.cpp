// The model zoo against REFERENCE.md: parameters counted from the instantiated modules and from
// the analytic model, MACs from the analytic model and as executed by a forward pass, forward and
// backward on CPU, and the reference weight initialisation.
#include <gtest/gtest.h>

#include <ATen/ops/randn.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cmath>

#include "ops/mac_tally.h"
#include "supernet/config_store.h"
#include "supernet/network.h"

namespace dnas {
namespace {

struct Reference {
  const char* name;
  double params;
  double params_tolerance;  // relative; 0 = exact
  double macs;
  double macs_tolerance;
};

// ../shared/docs/REFERENCE.md, "Model zoo targets".
const Reference kZoo[] = {
    {"squeezenet1_0", 1248424, 0, 818.9e6, 0.005},
    {"squeezenet1_1", 1235496, 0, 349.2e6, 0.005},
    {"mobilenet_v2", 3504872, 0, 300.8e6, 0.005},
    {"fbnet_a", 4.305e6, 0.005, 244.5e6, 0.005},
    {"fbnet_b", 4.80e6, 0.01, 291.1e6, 0.005},
    {"fbnet_c", 5.571e6, 0.005, 378.2e6, 0.005},
};

void expect_near_relative(double actual, double expected, double tolerance, const char* what) {
  if (tolerance == 0) {
    EXPECT_EQ(static_cast<int64_t>(actual), static_cast<int64_t>(expected)) << what;
  } else {
    EXPECT_LE(std::abs(actual - expected) / expected, tolerance)
        << what << ": " << actual << " vs reference " << expected;
  }
}

// Names the model in test output instead of dumping the struct's bytes.
void PrintTo(const Reference& reference, std::ostream* out) { *out << reference.name; }

class Zoo : public ::testing::TestWithParam<Reference> {};

TEST_P(Zoo, ParamsAndMacsMatchReference) {
  const Reference& ref = GetParam();
  const ArchSpec arch = load_arch(ref.name);
  const ResolvedArch analytic = resolve_arch(arch);
  expect_near_relative(analytic.total_params(), ref.params, ref.params_tolerance, "analytic params");
  expect_near_relative(analytic.total_macs(), ref.macs, ref.macs_tolerance, "analytic MACs");

  torch::manual_seed(0);
  Network net(arch);
  EXPECT_EQ(count_parameters(*net), analytic.total_params());
  expect_near_relative(count_parameters(*net), ref.params, ref.params_tolerance, "module params");

  net->eval();
  torch::NoGradGuard no_grad;
  MacTally tally;
  const torch::Tensor logits = net->forward(torch::randn({1, 3, 224, 224}));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{1, 1000}));
  EXPECT_EQ(tally.macs(), analytic.total_macs());
  expect_near_relative(tally.macs(), ref.macs, ref.macs_tolerance, "executed MACs");
}

TEST_P(Zoo, ForwardAndBackwardOnCpu) {
  torch::manual_seed(0);
  const ArchSpec arch = load_arch(GetParam().name);
  Network net(arch);
  net->train();
  const torch::Tensor x = torch::randn({2, 3, 224, 224});
  const torch::Tensor logits = net->forward(x);
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{2, 1000}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  logits.logsumexp(1).sum().backward();
  for (const auto& p : net->named_parameters())
    EXPECT_TRUE(p.value().grad().defined()) << p.key();
}

TEST_P(Zoo, ArchJsonRoundTrips) {
  const ArchSpec arch = load_arch(GetParam().name);
  const nlohmann::json once = arch_to_json(arch);
  const ArchSpec again = parse_arch(once, "round-trip");
  EXPECT_EQ(arch_to_json(again), once);
  EXPECT_EQ(again.layers, arch.layers);
  EXPECT_EQ(again.stem, arch.stem);
  EXPECT_EQ(again.head, arch.head);
}

INSTANTIATE_TEST_SUITE_P(Models, Zoo, ::testing::ValuesIn(kZoo),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Zoo, ModelsWorkAtOtherInputSizesAndClassCounts) {
  ArchSpec arch = load_arch("mobilenet_v2");
  arch.num_classes = 10;
  Network net(arch, 64);
  EXPECT_EQ(net->forward(torch::randn({3, 3, 64, 64})).sizes(), (std::vector<int64_t>{3, 10}));
}

// Weight statistics of a large tensor identify the initialiser.
double stddev(const torch::Tensor& t) { return t.std().item<double>(); }

TEST(Init, KaimingFanOutAsTorchvisionMobileNetV2) {
  torch::manual_seed(0);
  Network net(load_arch("mobilenet_v2"));
  int convs = 0;
  for (const auto& module : net->modules(false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      const auto w = conv->weight;
      if (w.numel() < 20000) continue;  // too small for a stable estimate
      const double fan_out = w.size(0) * w.size(2) * w.size(3);
      EXPECT_NEAR(stddev(w), std::sqrt(2.0 / fan_out), 0.05 * std::sqrt(2.0 / fan_out));
      ++convs;
    } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
      EXPECT_TRUE(bn->weight.eq(1).all().item<bool>());
      EXPECT_TRUE(bn->bias.eq(0).all().item<bool>());
    } else if (auto* linear = module->as<torch::nn::Linear>()) {
      EXPECT_NEAR(stddev(linear->weight), 0.01, 0.0005);
      EXPECT_TRUE(linear->bias.eq(0).all().item<bool>());
    }
  }
  EXPECT_GT(convs, 10);
}

TEST(Init, SqueezeNetKaimingUniformAndSmallClassifier) {
  torch::manual_seed(0);
  Network net(load_arch("squeezenet1_0"));
  std::vector<torch::nn::Conv2dImpl*> convs;
  for (const auto& module : net->modules(false))
    if (auto* conv = module->as<torch::nn::Conv2d>()) convs.push_back(conv);
  ASSERT_EQ(convs.size(), 1u + 8 * 3 + 1);
  for (size_t i = 0; i + 1 < convs.size(); ++i) {
    const auto w = convs[i]->weight;
    const double fan_in = w.size(1) * w.size(2) * w.size(3);
    const double bound = std::sqrt(6.0 / fan_in);  // kaiming_uniform_, ReLU gain
    EXPECT_LE(w.abs().max().item<double>(), bound + 1e-6);
    if (w.numel() > 20000) {
      EXPECT_NEAR(stddev(w), bound / std::sqrt(3.0), 0.05 * bound);
    }
    EXPECT_TRUE(convs[i]->bias.eq(0).all().item<bool>());
  }
  EXPECT_NEAR(stddev(convs.back()->weight), 0.01, 0.0005);  // the conv10 classifier
}

}  // namespace
}  // namespace dnas

// dnas::ops: the registry, the analytic cost model against the instantiated modules, and the
// exact behaviour of the residual and shuffle paths (the shift kernel: test_shift.cpp).
#include <gtest/gtest.h>

#include <ATen/ops/allclose.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/randn.h>
#include <torch/nn/modules/container/any.h>

#include <ATen/ops/adaptive_avg_pool2d.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/hardsigmoid.h>
#include <ATen/ops/hardswish.h>

#include <sstream>

#include "ops/block_module.h"
#include "ops/block_plan.h"
#include "ops/cost.h"
#include "common/error.h"
#include "ops/mac_tally.h"
#include "ops/registry.h"
#include "tests/test_support.h"

namespace dnas {
namespace {

using dnas::testing::args_for;

int64_t module_params(const torch::nn::Module& m) {
  int64_t total = 0;
  for (const auto& p : m.parameters()) total += p.numel();
  return total;
}

TEST(Registry, HoldsEveryCanonicalKeyOnce) {
  const std::vector<std::string> expected = {
      "ir_k3_e1", "ir_k3_e1_g2", "ir_k3_e3", "ir_k3_e6", "ir_k5_e1", "ir_k5_e1_g2", "ir_k5_e3",
      "ir_k5_e6", "skip", "shift_k3_e1", "shift_k3_e3", "shift_k3_e6", "shift_k5_e1", "shift_k5_e3",
      "shift_k5_e6", "fire_sr0.125", "fire_sr0.25", "fire_sr0.5", "conv_k1", "conv_k3", "conv_k5",
      "conv_k7", "maxpool_k3", "avgpool", "fc", "dropout", "ir_k3_e3_se", "ir_k3_e6_se", "ir_k5_e3_se",
      "ir_k5_e6_se"};
  EXPECT_EQ(OpRegistry::builtin().keys(), expected);
  const OpDef& ir = OpRegistry::builtin().at("ir_k5_e1_g2", "test");
  EXPECT_EQ(ir.family, "ir");
  EXPECT_EQ(ir.kernel, 5);
  EXPECT_EQ(ir.expansion, 1);
  EXPECT_EQ(ir.groups, 2);
  EXPECT_DOUBLE_EQ(OpRegistry::builtin().at("fire_sr0.25", "test").squeeze_ratio, 0.25);
}

TEST(Registry, UnknownKeyNamesItAndTheKnownKeys) {
  try {
    OpRegistry::builtin().at("ir_k7_e6", "net.json: layers[2].op");
    FAIL() << "expected dnas::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("net.json: layers[2].op: unknown op key 'ir_k7_e6'"), std::string::npos) << message;
    EXPECT_NE(message.find("ir_k5_e6"), std::string::npos) << message;
  }
}

TEST(Registry, RejectsDuplicates) {
  OpRegistry registry;
  register_builtin_ops(registry);
  EXPECT_THROW(register_builtin_ops(registry), Error);
}

// For every registered op over channels, strides and input sizes: the analytic parameter count,
// MAC count and output shape equal what the LibTorch module holds and computes, and backward
// reaches every parameter. Invalid combinations must be rejected by both paths alike.
TEST(OpSweep, AnalyticCostEqualsModule) {
  torch::manual_seed(0);
  int checked = 0, rejected = 0;
  for (const std::string& key : OpRegistry::builtin().keys()) {
    const OpDef& op = OpRegistry::builtin().at(key, "test");
    for (int64_t in : {5, 12, 16}) {
      for (int64_t out : {8, 12, 24}) {
        for (int64_t stride : {1, 2}) {
          for (int64_t size : {7, 16}) {
            BlockArgs args = args_for(in, out, stride, op.family == "fc" ? 1 : size);
            if (op.family == "fc" && stride == 2) continue;
            SCOPED_TRACE(describe_block(op, args));
            BlockCost cost;
            try {
              cost = block_cost(op, args);
            } catch (const Error&) {
              EXPECT_THROW(make_block(op, args), Error);
              ++rejected;
              continue;
            }
            torch::nn::AnyModule block = make_block(op, args);
            EXPECT_EQ(module_params(*block.ptr()), cost.params);

            torch::Tensor x = torch::randn({2, in, args.input.height, args.input.width}).requires_grad_();
            torch::Tensor y;
            {
              MacTally tally;
              y = block.forward(x);
              EXPECT_EQ(tally.macs(), cost.macs);
            }
            ASSERT_EQ(y.dim(), 4);
            EXPECT_EQ(y.size(0), 2);
            EXPECT_EQ(y.size(1), cost.output.channels);
            EXPECT_EQ(y.size(2), cost.output.height);
            EXPECT_EQ(y.size(3), cost.output.width);
            y.square().sum().backward();
            ASSERT_TRUE(x.grad().defined());
            for (const auto& p : block.ptr()->parameters()) EXPECT_TRUE(p.grad().defined());
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 500);
  EXPECT_GT(rejected, 0);  // e.g. grouped 1x1 convs over 5 input channels
}

TEST(OpSweep, EveryOpAtStrideOneAndTwo) {
  for (const std::string& key : OpRegistry::builtin().keys()) {
    const OpDef& op = OpRegistry::builtin().at(key, "test");
    if (op.family == "fc" || op.family == "avgpool" || op.family == "dropout") continue;
    for (int64_t stride : {1, 2}) {
      const BlockCost cost = block_cost(op, args_for(16, 32, stride, 28));
      const int64_t expected = op.family == "maxpool" ? (28 - 3) / stride + 1 : 28 / stride;
      EXPECT_EQ(cost.output.height, expected) << key << " s=" << stride;
      EXPECT_EQ(cost.output.channels, op.family == "maxpool" ? 16 : 32) << key;
    }
  }
}

// The search runs channels-last by default; every block must compute the same function, and the
// same weight gradients, in either layout.
TEST(OpSweep, ChannelsLastGivesTheSameOutputsAndGradients) {
  for (const std::string& key : OpRegistry::builtin().keys()) {
    const OpDef& op = OpRegistry::builtin().at(key, "test");
    if (op.family == "fc" || op.family == "dropout") continue;
    SCOPED_TRACE(key);
    const BlockArgs args = args_for(16, op.family == "maxpool" || op.family == "avgpool" ? 16 : 32, 2, 12);
    torch::manual_seed(0);
    torch::nn::AnyModule plain = make_block(op, args);
    torch::manual_seed(0);
    torch::nn::AnyModule nhwc = make_block(op, args);
    // Double precision, so that float summation order (which the layouts change) cannot hide a bug.
    plain.ptr()->to(torch::kDouble);
    nhwc.ptr()->to(torch::kDouble);
    use_channels_last(*nhwc.ptr());
    const torch::Tensor x = torch::randn({4, 16, 12, 12}, torch::kDouble);
    const torch::Tensor a = plain.forward(x), b = nhwc.forward(to_channels_last(x));
    EXPECT_TRUE(torch::allclose(a, b, 1e-10, 1e-10));
    if (plain.ptr()->parameters().empty()) continue;  // pools, identity skip: nothing to differentiate
    const torch::Tensor projection = torch::randn(a.sizes(), torch::kDouble);
    (a * projection).sum().backward();
    (b * projection).sum().backward();
    const auto pa = plain.ptr()->named_parameters(), pb = nhwc.ptr()->named_parameters();
    for (const auto& item : pa)
      EXPECT_TRUE(torch::allclose(item.value().grad(), pb[item.key()].grad(), 1e-9, 1e-9))
          << item.key() << " max diff " << (item.value().grad() - pb[item.key()].grad()).abs().max().item<double>()
          << " of " << item.value().grad().abs().max().item<double>();
  }
}

TEST(Shift, BlockHasZeroShiftCost) {
  const OpDef& op = OpRegistry::builtin().at("shift_k5_e3", "test");
  const BlockArgs args = args_for(16, 16, 1, 8);
  const BlockCost cost = block_cost(op, args);
  // Exactly the two 1x1 convs (+BN): the shift adds no params and no MACs.
  EXPECT_EQ(cost.params, (16 * 48 + 2 * 48) + (48 * 16 + 2 * 16));
  EXPECT_EQ(cost.macs, (16 * 48 + 48 * 16) * 8 * 8);
}

TEST(InvertedResidual, ResidualWhenStrideOneAndSameChannels) {
  torch::manual_seed(1);
  const OpDef& op = OpRegistry::builtin().at("ir_k3_e3", "test");
  auto block = make_block(op, args_for(16, 16, 1, 8));
  block.ptr()->eval();
  // Zero the last BN: the block must reduce to the identity through its residual path.
  for (auto& p : block.ptr()->named_parameters())
    if (p.key().rfind("pwl.bn.", 0) == 0) p.value().detach().zero_();
  const torch::Tensor x = torch::randn({1, 16, 8, 8});
  EXPECT_TRUE(at::allclose(block.forward(x), x));

  auto strided = make_block(op, args_for(16, 16, 2, 8));
  for (auto& p : strided.ptr()->named_parameters())
    if (p.key().rfind("pwl.bn.", 0) == 0) p.value().detach().zero_();
  strided.ptr()->eval();
  EXPECT_EQ(strided.forward(x).abs().max().item<float>(), 0.f);  // no residual at stride 2
}

TEST(InvertedResidual, ExpansionOneKeepsOrDropsTheFirstPointwise) {
  const OpDef& op = OpRegistry::builtin().at("ir_k3_e1", "test");
  BlockArgs args = args_for(16, 24, 2, 8);
  args.options.ir_e1_pointwise = true;
  const BlockCost kept = block_cost(op, args);
  EXPECT_TRUE(make_block(op, args).ptr()->named_parameters().contains("pw.conv.weight"));
  args.options.ir_e1_pointwise = false;
  const BlockCost dropped = block_cost(op, args);
  EXPECT_FALSE(make_block(op, args).ptr()->named_parameters().contains("pw.conv.weight"));
  EXPECT_EQ(kept.params - dropped.params, 16 * 16 + 2 * 16);
}

TEST(InvertedResidual, GroupedPointwiseConvsAndShuffle) {
  const OpDef& op = OpRegistry::builtin().at("ir_k5_e1_g2", "test");
  auto block = make_block(op, args_for(16, 32, 1, 8));
  const auto params = block.ptr()->named_parameters();
  EXPECT_EQ(params["pw.conv.weight"].sizes(), (std::vector<int64_t>{16, 8, 1, 1}));
  EXPECT_EQ(params["dw.conv.weight"].sizes(), (std::vector<int64_t>{16, 1, 5, 5}));
  EXPECT_EQ(params["pwl.conv.weight"].sizes(), (std::vector<int64_t>{32, 8, 1, 1}));
  // Odd channel counts cannot be split into two groups.
  EXPECT_THROW(block_cost(op, args_for(15, 32, 1, 8)), Error);
}

TEST(Skip, IdentityOrProjection) {
  const OpDef& op = OpRegistry::builtin().at("skip", "test");
  auto identity = make_block(op, args_for(16, 16, 1, 8));
  const torch::Tensor x = torch::randn({1, 16, 8, 8});
  EXPECT_TRUE(at::equal(identity.forward(x), x));
  EXPECT_EQ(block_cost(op, args_for(16, 16, 1, 8)).params, 0);
  EXPECT_EQ(block_cost(op, args_for(16, 24, 2, 8)).params, 16 * 24 + 2 * 24);
}

TEST(Fire, SqueezeAndHalfHalfExpand) {
  const OpDef& op = OpRegistry::builtin().at("fire_sr0.125", "test");
  auto fire = make_block(op, args_for(96, 128, 1, 54));
  const auto params = fire.ptr()->named_parameters();
  EXPECT_EQ(params["squeeze.conv.weight"].sizes(), (std::vector<int64_t>{16, 96, 1, 1}));
  EXPECT_EQ(params["expand1x1.conv.weight"].sizes(), (std::vector<int64_t>{64, 16, 1, 1}));
  EXPECT_EQ(params["expand3x3.conv.weight"].sizes(), (std::vector<int64_t>{64, 16, 3, 3}));
  EXPECT_TRUE(params.contains("squeeze.conv.bias"));
  EXPECT_FALSE(params.contains("squeeze.bn.weight"));
  // torchvision squeezenet1_0 features[3] (Fire(96, 16, 64, 64)) has 11,920 parameters.
  EXPECT_EQ(block_cost(op, args_for(96, 128, 1, 54)).params, 11920);
}

TEST(Cost, ConvHandComputed) {
  const OpDef& op = OpRegistry::builtin().at("conv_k3", "test");
  const BlockCost cost = block_cost(op, args_for(3, 16, 2, 224));
  EXPECT_EQ(cost.output, (FeatureShape{16, 112, 112}));
  EXPECT_EQ(cost.params, 3 * 16 * 9 + 2 * 16);
  EXPECT_EQ(cost.macs, 3 * 16 * 9 * 112 * 112);
  EXPECT_EQ(cost.activation_bytes(), 4 * (3 * 224 * 224 + 16 * 112 * 112));
}

TEST(Cost, MaxPoolCeilModeFollowsPyTorch) {
  const OpDef& op = OpRegistry::builtin().at("maxpool_k3", "test");
  BlockArgs args = args_for(96, 0, 2, 109);
  args.options.ceil_mode = true;
  EXPECT_EQ(block_cost(op, args).output.height, 54);  // squeezenet1_0 after conv1
  args.input = {256, 54, 54};
  EXPECT_EQ(block_cost(op, args).output.height, 27);
  args.options.ceil_mode = false;
  EXPECT_EQ(block_cost(op, args).output.height, 26);
}

TEST(Cost, RejectsArgumentsThatCannotWork) {
  const OpRegistry& r = OpRegistry::builtin();
  EXPECT_THROW(block_cost(r.at("ir_k3_e6", "t"), args_for(16, 16, 3, 8)), Error);   // stride 3
  EXPECT_THROW(block_cost(r.at("ir_k3_e6", "t"), args_for(16, 0, 1, 8)), Error);    // no channels
  EXPECT_THROW(block_cost(r.at("conv_k7", "t"), [] {
                 BlockArgs a = args_for(3, 8, 1, 4);
                 a.options.padding = 0;
                 return a;
               }()),
               Error);                                                                // map vanishes
  EXPECT_THROW(block_cost(r.at("fc", "t"), args_for(16, 10, 1, 7)), Error);         // fc before pooling
  try {
    block_cost(r.at("ir_k5_e6", "t"), args_for(16, 16, 4, 8));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "ir_k5_e6: expected stride 1 or 2, got 4");
  }
}

// The lowering is the one description of a block: its steps, in order, with the module path of
// every weight (the checkpoint keys) and the shapes between them.
TEST(BlockPlan, GroupedInvertedResidualLowersToItsSteps) {
  const BlockPlan plan = plan_block(OpRegistry::builtin().at("ir_k5_e1_g2", "test"), args_for(16, 16, 1, 8));
  EXPECT_EQ(plan.str(),
            "ir_k5_e1_g2 on 16x8x8:\n"
            "  %1 = conv 16->16 k1 s1 p0 g2 bias=0 (%0) [pw.conv] -> 16x8x8\n"
            "  %2 = bn (%1) [pw.bn] -> 16x8x8\n"
            "  %3 = act relu (%2) -> 16x8x8\n"
            "  %4 = shuffle g2 (%3) -> 16x8x8\n"
            "  %5 = conv 16->16 k5 s1 p2 g16 bias=0 (%4) [dw.conv] -> 16x8x8\n"
            "  %6 = bn (%5) [dw.bn] -> 16x8x8\n"
            "  %7 = act relu (%6) -> 16x8x8\n"
            "  %8 = conv 16->16 k1 s1 p0 g2 bias=0 (%7) [pwl.conv] -> 16x8x8\n"
            "  %9 = bn (%8) [pwl.bn] -> 16x8x8\n"
            "  %10 = add (%9,%0) -> 16x8x8");
  // An identity skip is no step at all.
  EXPECT_TRUE(plan_block(OpRegistry::builtin().at("skip", "test"), args_for(16, 16, 1, 8)).steps.empty());
}

TEST(BlockPlan, MakeDivisibleRoundsAsMobileNet) {
  EXPECT_EQ(make_divisible(24), 24);
  EXPECT_EQ(make_divisible(12), 16);
  EXPECT_EQ(make_divisible(4), 8);
  EXPECT_EQ(make_divisible(20), 24);
  EXPECT_EQ(make_divisible(60), 64);
  EXPECT_EQ(make_divisible(36), 40);
}

// MobileNetV3's squeeze-excitation IR: params and MACs by hand, the checkpoint keys, and the
// forward pass against the same computation written with ATen ops directly.
TEST(SqueezeExcitation, CostKeysAndForwardMatchTheDefinition) {
  const OpDef& op = OpRegistry::builtin().at("ir_k3_e6_se", "test");
  BlockArgs args = args_for(16, 16, 1, 8);
  args.options.act = Activation::kHardSwish;
  const int64_t mid = 96, squeezed = 24;  // make_divisible(96 / 4)
  const BlockCost cost = block_cost(op, args);
  EXPECT_EQ(cost.params, (16 * mid + 2 * mid) + (9 * mid + 2 * mid) + (mid * squeezed + squeezed) +
                             (squeezed * mid + mid) + (mid * 16 + 2 * 16));
  EXPECT_EQ(cost.macs, 16 * mid * 64 + 9 * mid * 64 + mid * squeezed + squeezed * mid + mid * 16 * 64);

  torch::manual_seed(3);
  auto block = make_block(op, args);
  block.ptr()->eval();
  auto p = block.ptr()->named_parameters();
  auto b = block.ptr()->named_buffers();
  for (const char* key : {"pw.conv.weight", "dw.conv.weight", "se.fc1.weight", "se.fc1.bias", "se.fc2.weight",
                          "se.fc2.bias", "pwl.conv.weight", "pwl.bn.weight"})
    EXPECT_TRUE(p.contains(key)) << key;
  {
    torch::NoGradGuard no_grad;
    for (auto& item : b)
      if (item.value().is_floating_point()) item.value().uniform_(0.5, 1.5);  // running statistics
  }
  const auto bn = [&](const torch::Tensor& x, const std::string& unit) {
    const auto c = [](const torch::Tensor& t) { return t.view({1, -1, 1, 1}); };
    return (x - c(b[unit + ".running_mean"])) / (c(b[unit + ".running_var"]) + 1e-5).sqrt() * c(p[unit + ".weight"]) +
           c(p[unit + ".bias"]);
  };
  const torch::Tensor x = torch::randn({2, 16, 8, 8});
  torch::NoGradGuard no_grad;
  const torch::Tensor expanded = at::hardswish(bn(at::conv2d(x, p["pw.conv.weight"]), "pw.bn"));
  const torch::Tensor depthwise =
      at::hardswish(bn(at::conv2d(expanded, p["dw.conv.weight"], {}, 1, 1, 1, mid), "dw.bn"));
  const torch::Tensor gate = at::hardsigmoid(at::conv2d(
      at::conv2d(at::adaptive_avg_pool2d(depthwise, {1, 1}), p["se.fc1.weight"], p["se.fc1.bias"]).relu(),
      p["se.fc2.weight"], p["se.fc2.bias"]));
  const torch::Tensor expected = bn(at::conv2d(depthwise * gate, p["pwl.conv.weight"]), "pwl.bn") + x;
  EXPECT_TRUE(at::allclose(block.forward(x), expected, 1e-5, 1e-5));
}

// The latency-table variant names exactly the options that change the steps.
TEST(BlockVariant, NamesOnlyOptionsThatChangeWhatTheBlockComputes) {
  const OpRegistry& r = OpRegistry::builtin();
  BlockArgs relu6 = args_for(16, 16, 1, 8);
  relu6.options.act = Activation::kRelu6;
  EXPECT_EQ(block_variant(r.at("ir_k3_e3", "t"), relu6), "act=relu6");
  EXPECT_EQ(block_variant(r.at("skip", "t"), relu6), "");  // an identity has no activation
  BlockArgs projected = relu6;
  projected.out_channels = 24;
  EXPECT_EQ(block_variant(r.at("skip", "t"), projected), "act=relu6");
  EXPECT_EQ(block_variant(r.at("fire_sr0.25", "t"), relu6), "");  // Fire always uses ReLU
  BlockArgs dropped = args_for(16, 16, 1, 8);
  dropped.options.ir_e1_pointwise = false;
  EXPECT_EQ(block_variant(r.at("ir_k3_e1", "t"), dropped), "pw=0");
  EXPECT_EQ(block_variant(r.at("ir_k3_e3", "t"), dropped), "");  // only e = 1 has the choice
  BlockArgs conv = args_for(3, 8, 1, 8);
  conv.options.batch_norm = false;
  EXPECT_EQ(block_variant(r.at("conv_k3", "t"), conv), "bn=0");   // bias follows bn by default
  conv.options.bias = false;
  EXPECT_EQ(block_variant(r.at("conv_k3", "t"), conv), "bias=0,bn=0");
  BlockArgs dropout = args_for(16, 0, 1, 8);
  dropout.options.dropout_p = 0.2;
  EXPECT_EQ(block_variant(r.at("dropout", "t"), dropout), "");
}

// Every block prints its canonical description, the string error messages and profiler lines use.
TEST(Block, PrettyPrintsItsCanonicalDescription) {
  const OpDef& op = OpRegistry::builtin().at("ir_k5_e6", "test");
  BlockArgs args = args_for(32, 32, 2, 56);
  args.options.act = Activation::kRelu6;
  EXPECT_EQ(describe_block(op, args), "ir_k5_e6{act=relu6}|in=32x56x56|out=32|s=2");
  std::ostringstream printed;
  printed << *make_block(op, args).ptr();
  EXPECT_EQ(printed.str().rfind("Block(ir_k5_e6{act=relu6}|in=32x56x56|out=32|s=2)", 0), 0u) << printed.str();
  EXPECT_NE(printed.str().find("(pw)"), std::string::npos) << printed.str();
}

}  // namespace
}  // namespace dnas

// TorchScript export: for every zoo model and an arch mixing every block family, the exported
// module (loaded back with torch::jit::load) matches the native module within 1e-4, with and
// without BatchNorm folding.
#include <gtest/gtest.h>

#include <torch/script.h>

#include "search/export_torchscript.h"
#include "supernet/config_store.h"
#include "supernet/network.h"
#include "tests/test_support.h"

namespace dnas {
namespace {

using dnas::testing::TempDir;

// Non-trivial BatchNorm statistics, so folding has something to fold.
void randomise_batch_norm(NetworkImpl& net) {
  torch::NoGradGuard no_grad;
  for (auto& b : net.named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().normal_(0, 0.1);
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 1.5);
  }
  for (auto& p : net.named_parameters())
    if (p.key().find(".bn.") != std::string::npos) p.value().uniform_(0.5, 1.5);
}

void expect_export_matches(const ArchSpec& arch, int64_t input_size) {
  torch::manual_seed(0);
  Network net(arch, input_size);
  randomise_batch_norm(*net);
  net->eval();
  const torch::Tensor x = torch::randn({2, arch.input_channels, input_size, input_size});
  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = net->forward(x);
  }
  TempDir dir;
  for (const bool fold : {false, true}) {
    const std::string path = dir.file(fold ? "folded.pt" : "plain.pt");
    export_torchscript(*net, path, fold);
    torch::jit::Module loaded = torch::jit::load(path);
    torch::NoGradGuard no_grad;
    const torch::Tensor got = loaded.forward({x}).toTensor();
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_LE((got - expected).abs().max().item<double>(), 1e-4) << arch.name << (fold ? " (folded)" : "");
  }
}

TEST(ExportTorchScript, EveryZooModelMatchesTheNativeModule) {
  for (const char* name : {"squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "fbnet_a", "fbnet_b", "fbnet_c"}) {
    SCOPED_TRACE(name);
    expect_export_matches(load_arch(name), 224);
  }
}

TEST(ExportTorchScript, EveryBlockFamilyMatches) {
  const SearchSpace space = load_space("mixed");
  // One arch using IR (with grouped 1x1 and shuffle), shift, Fire and skip candidates.
  ArchSpec arch = space.derive({"ir_k3_e6", "shift_k3_e3", "fire_sr0.25", "skip", "ir_k5_e3", "shift_k5_e3",
                                "fire_sr0.5", "ir_k3_e1", "shift_k3_e6", "skip"});
  arch.name = "mixed_all";
  expect_export_matches(arch, 32);
  const SearchSpace fbnet = load_space("small");
  ArchSpec grouped = fbnet.derive(std::vector<std::string>(fbnet.searchable_layers().size(), "ir_k5_e1_g2"));
  grouped.name = "grouped";
  expect_export_matches(grouped, 32);
}

}  // namespace
}  // namespace dnas

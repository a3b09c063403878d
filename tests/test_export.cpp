// Export: for every zoo model and for derived archs covering every block family, with and without
// BatchNorm folding, the exported model gives the native module's outputs within 1e-4:
//   TorchScript, loaded back with C++ torch::jit::load, and with Python's torch.jit.load;
//   ONNX (when built with it), passing the ONNX checker and run by a reference evaluator
//   independent of the exporter.
#include <gtest/gtest.h>

#include <torch/script.h>
#ifdef DNAS_WITH_ONNX
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "export/torchscript.h"
#include "supernet/config_store.h"
#include "supernet/network.h"
#include "tests/test_support.h"
#ifdef DNAS_WITH_ONNX
#include "export/onnx.h"
#include "tests/onnx_reference.h"
#endif

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

// A network with non-trivial BN statistics, an input batch, and the native outputs.
struct Reference {
  Network net{nullptr};
  torch::Tensor input, expected;
};

Reference reference(const ArchSpec& arch, int64_t input_size) {
  torch::manual_seed(0);
  Reference r;
  r.net = Network(arch, input_size);
  randomise_batch_norm(*r.net);
  r.net->eval();
  r.input = torch::randn({2, arch.input_channels, input_size, input_size});
  torch::NoGradGuard no_grad;
  r.expected = r.net->forward(r.input);
  return r;
}

void expect_close(const torch::Tensor& got, const torch::Tensor& expected, const std::string& what) {
  ASSERT_EQ(got.sizes(), expected.sizes()) << what;
  EXPECT_LE((got - expected).abs().max().item<double>(), 1e-4) << what;
}

void expect_torchscript_matches(const ArchSpec& arch, int64_t input_size) {
  const Reference r = reference(arch, input_size);
  TempDir dir;
  for (const bool fold : {false, true}) {
    const std::string path = dir.file(fold ? "folded.pt" : "plain.pt");
    export_torchscript(*r.net, path, fold);
    torch::jit::Module loaded = torch::jit::load(path);
    torch::NoGradGuard no_grad;
    expect_close(loaded.forward({r.input}).toTensor(), r.expected, arch.name + (fold ? " (folded)" : ""));
  }
}

const char* const kZoo[] = {"squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "fbnet_a", "fbnet_b", "fbnet_c"};

// Derived archs (what a search writes) that use every block family: IR with and without the
// expansion 1x1, grouped 1x1 with channel shuffle, squeeze-excitation IR with hard-swish, shift,
// Fire and skip with and without projection.
std::vector<ArchSpec> every_block_family() {
  const SearchSpace mixed = load_space("mixed");
  ArchSpec arch = mixed.derive({"ir_k3_e6", "shift_k3_e3", "fire_sr0.25", "skip", "ir_k5_e3", "shift_k5_e3",
                                "fire_sr0.5", "ir_k3_e1", "shift_k3_e6", "skip"});
  arch.name = "mixed_all";
  const SearchSpace small = load_space("small");
  ArchSpec grouped = small.derive(std::vector<std::string>(small.searchable_layers().size(), "ir_k5_e1_g2"));
  grouped.name = "grouped";
  const SearchSpace se = load_space("se");
  ArchSpec excite = se.derive({"ir_k3_e3_se", "ir_k5_e6_se", "ir_k3_e6", "ir_k5_e3_se", "ir_k3_e6_se", "skip",
                               "ir_k5_e6_se", "ir_k5_e3"});
  excite.name = "squeeze_excite_hswish";
  return {arch, grouped, excite};
}

TEST(ExportTorchScript, EveryZooModelMatchesTheNativeModule) {
  for (const char* name : kZoo) {
    SCOPED_TRACE(name);
    expect_torchscript_matches(load_arch(name), 224);
  }
}

TEST(ExportTorchScript, EveryBlockFamilyMatches) {
  for (const ArchSpec& arch : every_block_family()) expect_torchscript_matches(arch, 32);
}

#ifdef DNAS_WITH_ONNX
void expect_onnx_matches(const ArchSpec& arch, int64_t input_size) {
  const Reference r = reference(arch, input_size);
  TempDir dir;
  for (const bool fold : {false, true}) {
    const std::string path = dir.file(fold ? "folded.onnx" : "plain.onnx");
    export_onnx(*r.net, path, fold);
    onnx::ModelProto model;
    std::ifstream file(path, std::ios::binary);
    ASSERT_TRUE(model.ParseFromIstream(&file)) << path;
    EXPECT_NO_THROW(onnx::checker::check_model(model));
    expect_close(dnas::testing::run_onnx_reference(model, r.input), r.expected, arch.name + (fold ? " (folded)" : ""));
  }
}

TEST(ExportOnnx, EveryZooModelPassesTheCheckerAndMatchesTheNativeModule) {
  for (const char* name : kZoo) {
    SCOPED_TRACE(name);
    expect_onnx_matches(load_arch(name), 224);
  }
}

TEST(ExportOnnx, EveryBlockFamilyMatches) {
  for (const ArchSpec& arch : every_block_family()) expect_onnx_matches(arch, 32);
}

TEST(ExportOnnx, BatchDimensionIsSymbolicAndWeightsKeepTheirNames) {
  Reference r = reference(load_arch("fbnet_a"), 64);
  const onnx::ModelProto model = onnx_model(*r.net, /*fold_bn=*/false);
  EXPECT_EQ(model.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "batch");
  bool found = false;
  for (const auto& init : model.graph().initializer()) found |= init.name() == "layers.1.dw.conv.weight";
  EXPECT_TRUE(found);
  const torch::Tensor five = torch::randn({5, 3, 64, 64});
  torch::NoGradGuard no_grad;
  expect_close(dnas::testing::run_onnx_reference(model, five), r.net->forward(five), "batch of 5");
}

TEST(ExportOnnx, AnUnwritablePathLeavesNoFile) {
  const Reference r = reference(load_arch("squeezenet1_1"), 64);
  TempDir dir;
  const std::string path = dir.file("missing/net.onnx");
  const std::string message = dnas::testing::error_of([&] { export_onnx(*r.net, path, false); });
  EXPECT_NE(message.find("missing/net.onnx: cannot write"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}
#endif  // DNAS_WITH_ONNX

// The first interpreter on PATH may be one without torch (a pyenv shim, a venv); Debian's
// python3-torch installs into /usr/bin/python3.
std::string python_with_torch() {
  for (const char* python : {"python3", "/usr/bin/python3"}) {
    const std::string probe = std::string(python) + " -c 'import torch' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return python;
  }
  return "";
}

void write_floats(const std::string& path, const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  std::ofstream(path, std::ios::binary).write(static_cast<const char*>(c.data_ptr()), c.numel() * sizeof(float));
}

TEST(ExportTorchScript, PythonTorchJitLoadRunsTheExport) {
  const std::string python = python_with_torch();
  ASSERT_FALSE(python.empty()) << "no python3 with torch (scripts/setup.sh installs Debian's python3-torch)";
  std::vector<ArchSpec> archs = every_block_family();
  archs.push_back(load_arch("squeezenet1_1"));
  for (const ArchSpec& arch : archs) {
    SCOPED_TRACE(arch.name);
    const Reference r = reference(arch, arch.name == "squeezenet1_1" ? 96 : 32);
    TempDir dir;
    export_torchscript(*r.net, dir.file("net.pt"), /*fold_bn=*/true);
    write_floats(dir.file("input.bin"), r.input);
    const std::string script =
        "import sys, torch\n"
        "m = torch.jit.load(sys.argv[1])\n"
        "x = torch.frombuffer(bytearray(open(sys.argv[2], 'rb').read()), dtype=torch.float32)\n"
        "y = m(x.view(" + std::to_string(r.input.size(0)) + ", " + std::to_string(r.input.size(1)) + ", " +
        std::to_string(r.input.size(2)) + ", " + std::to_string(r.input.size(3)) + "))\n"
        "open(sys.argv[3], 'wb').write(y.contiguous().numpy().tobytes())\n";
    std::ofstream(dir.file("run.py")) << script;
    const std::string command = python + " " + dir.file("run.py") + " " + dir.file("net.pt") + " " +
                                dir.file("input.bin") + " " + dir.file("output.bin");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    std::ifstream out(dir.file("output.bin"), std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
    ASSERT_EQ(bytes.size(), r.expected.numel() * sizeof(float));
    const torch::Tensor got = torch::from_blob(bytes.data(), r.expected.sizes(), torch::kFloat).clone();
    expect_close(got, r.expected, arch.name + " via Python torch.jit.load");
  }
}

}  // namespace
}  // namespace dnas

// The CUDA code paths against the CPU: the search's soft and hard steps, the bf16 autocast step and
// the sampling's single host sync. Every test is named OnCuda* and skips (GTEST_SKIP, listed as
// skipped by ctest) where this LibTorch has no CUDA or the machine no GPU; the CPU-only parts of
// the same machinery are tested in test_search.
#include <gtest/gtest.h>

#include <ATen/Context.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/tensor.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "search/search_step.h"
#include "supernet/config_store.h"
#include "supernet/supernet.h"

namespace dnas {
namespace {

#define SKIP_WITHOUT_CUDA()                                                      \
  do {                                                                           \
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device (needs a GPU)"; \
  } while (false)

// Exact fp32 arithmetic on the GPU for the comparisons: no TF32 in cuDNN convolutions or cuBLAS.
class NoTf32 {
 public:
  NoTf32() : cudnn_(at::globalContext().allowTF32CuDNN()), cublas_(at::globalContext().allowTF32CuBLAS()) {
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
  }
  ~NoTf32() {
    at::globalContext().setAllowTF32CuDNN(cudnn_);
    at::globalContext().setAllowTF32CuBLAS(cublas_);
  }

 private:
  bool cudnn_, cublas_;
};

// One search side on one device: the small space's supernet (initialised from seed 0, so both
// devices start from the same weights; its candidates' weights shared in hard mode, as a search
// shares them by default), its optimizers and stepper.
struct Side {
  World world;  // first: the stepper keeps a reference to it
  Supernet net{nullptr};
  std::unique_ptr<torch::optim::SGD> w_opt;
  std::unique_ptr<torch::optim::Adam> theta_opt;
  std::unique_ptr<SearchStepper> stepper;

  Side(const torch::Device& device, SampleMode mode, bool bf16, std::optional<WeightSharing> sharing = std::nullopt) {
    SearchSpace space = load_space("small");
    space.input_size = 28;
    space.input_channels = 1;
    space.num_classes = 10;
    torch::manual_seed(0);
    net = Supernet(space, std::nullopt,
                   sharing.value_or(mode == SampleMode::kHard ? WeightSharing::kNested : WeightSharing::kSeparate));
    net->to(device);
    std::vector<at::Tensor> latency_us;
    for (size_t l = 0; l < net->num_layers(); ++l) {
      std::vector<float> row;
      for (size_t i = 0; i < net->resolved().layers[l].candidates.size(); ++i) row.push_back(100.0f + 37.0f * i);
      latency_us.push_back(at::tensor(row).to(device));
    }
    w_opt = std::make_unique<torch::optim::SGD>(net->weight_parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
    theta_opt = std::make_unique<torch::optim::Adam>(net->theta_parameters(), torch::optim::AdamOptions(0.01));
    StepSettings settings;
    settings.mode = mode;
    settings.latency_penalty = 1.0;
    settings.latency_target_us = 500;
    settings.autocast_bf16 = bf16;
    stepper = std::make_unique<SearchStepper>(net, latency_us, 200.0, settings, world);
  }

  // A w step then a theta step on the same batch, each after seeding the step's Gumbel draw.
  std::vector<double> two_steps(const at::Tensor& images, const at::Tensor& labels) {
    const at::Device device = net->parameters().front().device();
    std::vector<double> losses;
    stepper->begin_phase(true);
    torch::manual_seed(100);
    losses.push_back(stepper->w_step(images.to(device), labels.to(device), 2.0, *w_opt).loss.item<double>());
    stepper->begin_phase(false);
    torch::manual_seed(101);
    losses.push_back(stepper->theta_step(images.to(device), labels.to(device), 2.0, *theta_opt).loss.item<double>());
    return losses;
  }
};

struct Batch28 {
  at::Tensor images, labels;
  Batch28() {
    torch::manual_seed(7);
    images = at::randn({16, 1, 28, 28});
    labels = at::randint(0, 10, {16}, at::kLong);
  }
};

// Weights (after SGD, continuous in the gradients) within `tolerance`; theta by its last gradient,
// since Adam's first steps move every logit by about lr whatever the gradient's size, so a gradient
// near zero could flip the step's sign between devices without anything being wrong.
void expect_parameters_near(Supernet cpu, Supernet cuda, double tolerance) {
  const auto a = cpu->named_parameters(), b = cuda->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& p : a) {
    const bool theta = p.key().size() >= 6 && p.key().compare(p.key().size() - 6, 6, ".theta") == 0;
    const at::Tensor mine = theta ? p.value().grad() : p.value().detach();
    const at::Tensor other = theta ? b[p.key()].grad().cpu() : b[p.key()].detach().cpu();
    ASSERT_TRUE(mine.defined() && other.defined()) << p.key();
    const double scale = theta ? std::max(1e-6, mine.abs().max().item<double>()) : 1.0;
    EXPECT_LE((mine - other).abs().max().item<double>(), tolerance * scale) << p.key();
  }
}

void steps_match(SampleMode mode, std::optional<WeightSharing> sharing = std::nullopt) {
  const NoTf32 exact;
  const Batch28 batch;
  Side cpu(torch::kCPU, mode, false, sharing), cuda(torch::Device(torch::kCUDA, 0), mode, false, sharing);
  const std::vector<double> cpu_losses = cpu.two_steps(batch.images, batch.labels);
  const std::vector<double> cuda_losses = cuda.two_steps(batch.images, batch.labels);
  for (size_t i = 0; i < cpu_losses.size(); ++i) EXPECT_NEAR(cuda_losses[i], cpu_losses[i], 1e-4 * std::abs(cpu_losses[i]));
  expect_parameters_near(cpu.net, cuda.net, 1e-4);
}

TEST(Cuda, OnCudaSoftStepsEqualTheCpu) {
  SKIP_WITHOUT_CUDA();
  steps_match(SampleMode::kSoft);
}

TEST(Cuda, OnCudaHardStepsEqualTheCpu) {
  SKIP_WITHOUT_CUDA();
  steps_match(SampleMode::kHard);  // nested weights
}

TEST(Cuda, OnCudaHardStepsWithSeparateWeightsEqualTheCpu) {
  SKIP_WITHOUT_CUDA();
  steps_match(SampleMode::kHard, WeightSharing::kSeparate);
}

TEST(Cuda, OnCudaSamplesEqualTheCpuAndStayOnTheDevice) {
  SKIP_WITHOUT_CUDA();
  for (SampleMode mode : {SampleMode::kSoft, SampleMode::kHard}) {
    Side cpu(torch::kCPU, mode, false), cuda(torch::Device(torch::kCUDA, 0), mode, false);
    torch::manual_seed(5);
    const ArchSample a = cpu.net->sample(1.0, mode, NoiseScope::kPerSample, 4);
    torch::manual_seed(5);
    const ArchSample b = cuda.net->sample(1.0, mode, NoiseScope::kPerSample, 4);
    ASSERT_EQ(a.size(), b.size());
    for (size_t l = 0; l < a.size(); ++l) {
      EXPECT_EQ(a[l].index, b[l].index);
      EXPECT_TRUE(b[l].weights.is_cuda());
      EXPECT_LE((a[l].weights - b[l].weights.cpu()).abs().max().item<double>(), 1e-5);
    }
  }
}

TEST(Cuda, OnCudaBf16AutocastStepsRunAndStayNearFp32) {
  SKIP_WITHOUT_CUDA();
  const Batch28 batch;
  for (SampleMode mode : {SampleMode::kSoft, SampleMode::kHard}) {
    Side fp32(torch::Device(torch::kCUDA, 0), mode, false), bf16(torch::Device(torch::kCUDA, 0), mode, true);
    const std::vector<double> reference = fp32.two_steps(batch.images, batch.labels);
    const std::vector<double> mixed = bf16.two_steps(batch.images, batch.labels);
    for (size_t i = 0; i < reference.size(); ++i) {
      EXPECT_TRUE(std::isfinite(mixed[i]));
      EXPECT_NEAR(mixed[i], reference[i], 0.05 * std::abs(reference[i]));  // bf16 keeps ~3 significant digits
    }
    for (const at::Tensor& p : bf16.net->parameters()) {
      EXPECT_EQ(p.scalar_type(), at::kFloat);  // autocast leaves the weights in fp32
      EXPECT_TRUE(p.isfinite().all().item<bool>());
    }
  }
}

}  // namespace
}  // namespace dnas

#include "supernet/network.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "ops/block_module.h"
#include "ops/registry.h"

namespace dnas {

NetworkImpl::NetworkImpl(const ArchSpec& arch, std::optional<int64_t> input_size)
    : resolved_(resolve_arch(arch, input_size, arch.name.empty() ? "arch" : arch.name)) {
  stem = register_module("stem", torch::nn::Sequential());
  layers = register_module("layers", torch::nn::Sequential());
  head = register_module("head", torch::nn::Sequential());
  const OpRegistry& registry = OpRegistry::builtin();
  for (const ResolvedLayer& layer : resolved_.layers) {
    torch::nn::Sequential& section = layer.section == Section::kStem     ? stem
                                     : layer.section == Section::kLayers ? layers
                                                                         : head;
    section->push_back(make_block(registry.at(layer.spec.op, layer.label()), layer.args));
  }
  init_weights(*this, arch.init);
}

torch::Tensor NetworkImpl::forward(torch::Tensor x) {
  for (torch::nn::Sequential* section : {&stem, &layers, &head})
    if (!(*section)->is_empty()) x = (*section)->forward(x);
  return x.flatten(1);
}

void init_weights(torch::nn::Module& network, InitScheme scheme) {
  torch::NoGradGuard no_grad;
  torch::nn::Conv2dImpl* last_conv = nullptr;
  for (const auto& module : network.modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      if (scheme == InitScheme::kSqueezeNet)
        torch::nn::init::kaiming_uniform_(conv->weight, 0, torch::kFanIn, torch::kReLU);
      else
        torch::nn::init::kaiming_normal_(conv->weight, 0, torch::kFanOut, torch::kReLU);
      if (conv->bias.defined()) conv->bias.zero_();
      last_conv = conv;
    } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1.0);
      bn->bias.zero_();
    } else if (auto* linear = module->as<torch::nn::Linear>()) {
      linear->weight.normal_(0.0, 0.01);
      linear->bias.zero_();
    }
  }
  if (scheme == InitScheme::kSqueezeNet && last_conv != nullptr) last_conv->weight.normal_(0.0, 0.01);
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

}  // namespace dnas

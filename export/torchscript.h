// TorchScript export: a torch::jit::Module holding a network's weights as parameters and buffers,
// with a `forward` generated as TorchScript source from the same block plans the cost model and
// the native modules use. The file loads with C++ torch::jit::load and Python torch.jit.load and
// runs without dnas. With fold_bn, every BatchNorm after a convolution is folded into its
// weights and bias (inference only; the outputs match within float rounding).
#pragma once

#include <string>

#include <torch/nn/module.h>

#include "supernet/arch_spec.h"

namespace dnas {

class NetworkImpl;

// Writes the TorchScript module atomically to `path`; `lite` writes PyTorch Mobile's
// lite-interpreter format (.ptl) instead.
void export_torchscript(const NetworkImpl& network, const std::string& path, bool fold_bn, bool lite = false);

// One block (as make_block builds it, weights included) as a TorchScript module whose forward
// maps the block's input to its output: what phone profiling times per latency-table key.
void export_block_torchscript(const torch::nn::Module& block, const ResolvedLayer& layer, const std::string& path,
                              bool lite);

}  // namespace dnas

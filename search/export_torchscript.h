// TorchScript export: a torch::jit::Module holding a network's weights as parameters and buffers,
// with a `forward` generated as TorchScript source from the same block plans the cost model and
// the native modules use. The file loads with C++ torch::jit::load and Python torch.jit.load and
// runs without dnas. With fold_bn, every BatchNorm after a convolution is folded into its
// weights and bias (inference only; the outputs match within float rounding).
#pragma once

#include <string>

#include "supernet/arch_spec.h"

namespace dnas {

class NetworkImpl;

// The generated TorchScript source of forward() (useful to read, and for tests).
std::string torchscript_source(const NetworkImpl& network, bool fold_bn);
// Writes the TorchScript module atomically to `path`.
void export_torchscript(const NetworkImpl& network, const std::string& path, bool fold_bn);

}  // namespace dnas

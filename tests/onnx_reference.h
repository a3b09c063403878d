// A test-only reference evaluator for ONNX graphs: runs a ModelProto node by node with ATen ops,
// following the operator definitions of the ONNX spec (opset 13) for exactly the operators dnas
// exports. It shares no code with the exporter or the native modules, so agreement between its
// output and the native network's is evidence that the exported graph means the same thing.
// An operator or attribute it does not know is a test failure (std::runtime_error naming it).
#pragma once

#include <ATen/core/Tensor.h>

namespace onnx {
class ModelProto;
}

namespace dnas::testing {

at::Tensor run_onnx_reference(const onnx::ModelProto& model, const at::Tensor& input);

}  // namespace dnas::testing

// ONNX export: the network as an onnx::ModelProto (opset 13) built with the ONNX library's
// protobuf types from the same block plans the native modules use. Weights are initializers named
// as in dnas checkpoints ("layers.3.dw.conv.weight"); the graph maps `input` (batch x C x H x W,
// the batch dimension symbolic) to `logits` (batch x classes). Every block family is expressed
// with standard ops: Conv, BatchNormalization, Relu, Clip (ReLU6), Add, Concat, Reshape +
// Transpose (channel shuffle), Pad + Slice (the ShiftNet shift), MaxPool, GlobalAveragePool,
// Flatten, Gemm. The model passes onnx::checker::check_model before it is written.
#pragma once

#include <string>

namespace onnx {
class ModelProto;
}

namespace dnas {

class NetworkImpl;

onnx::ModelProto onnx_model(const NetworkImpl& network, bool fold_bn);

// Builds, checks and writes the model atomically to `path` (no partial file on failure).
void export_onnx(const NetworkImpl& network, const std::string& path, bool fold_bn);

}  // namespace dnas

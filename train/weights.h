// Weights files: every named parameter and buffer of a module, by name, in a LibTorch archive.
// Loading checks names and shapes strictly, so an arch and a weights file that do not belong
// together fail with the first mismatching tensor and both shapes instead of a LibTorch trace.
#pragma once

#include <string>

#include <torch/nn/module.h>

namespace dnas {

// Written atomically.
void save_weights(const torch::nn::Module& module, const std::string& path);
// Throws dnas::Error "<path>: <tensor>: ..." on a missing tensor or a shape mismatch.
void load_weights(torch::nn::Module& module, const std::string& path);

}  // namespace dnas

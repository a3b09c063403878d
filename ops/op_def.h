// What one canonical op key means: the block family and its hyper-parameters, plus the per-layer
// options (activation, BN, bias, padding ...) that configs may set. Torch-free so the spec, cost
// and CLI code can use it without pulling in LibTorch.
//
// Canonical keys (DESIGN.md): ir_k{3,5}_e{1,3,6}, ir_k{3,5}_e1_g2, skip, shift_k{3,5}_e{1,3,6},
// fire_sr{0.125,0.25,0.5}, conv_k{1,3,5,7}, maxpool_k3, avgpool, fc, dropout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace dnas {

enum class OpKind { kInvertedResidual, kSkip, kShift, kFire, kConv, kMaxPool, kAvgPool, kLinear, kDropout };

enum class Activation { kRelu, kRelu6, kNone };

const char* activation_name(Activation act);
// Throws dnas::Error naming `where` for anything but "relu", "relu6" or "none".
Activation parse_activation(const std::string& name, const std::string& where);

struct OpDef {
  std::string key;
  OpKind kind = OpKind::kConv;
  int64_t kernel = 1;        // ir, shift, conv, maxpool
  int64_t expansion = 1;     // ir, shift
  int64_t groups = 1;        // ir: groups of both 1x1 convs (channel shuffle after the first)
  double squeeze_ratio = 0;  // fire: squeeze channels = round(out * ratio)
  // True for the blocks a search space may offer as candidates of a searchable layer.
  bool searchable() const;
  // True when the op takes an output-channel count (`out` in configs).
  bool has_out_channels() const;
};

// Per-layer options. Unset optionals take the op's default (see the accessors).
struct BlockOptions {
  Activation act = Activation::kRelu;   // conv / ir / shift activations
  bool batch_norm = true;               // conv primitive only
  std::optional<bool> bias;             // conv primitive only; default: !batch_norm
  std::optional<int64_t> padding;       // conv: default kernel/2; maxpool: default 0
  bool ceil_mode = false;               // maxpool
  double dropout_p = 0.5;               // dropout
  bool ir_e1_pointwise = true;          // ir with e=1: keep the first 1x1 conv (FBNet paper) or drop it

  bool conv_bias() const { return bias.value_or(!batch_norm); }
  int64_t padding_for(const OpDef& op) const;
};

// A 3-D activation shape (channels, height, width) for one sample.
struct FeatureShape {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t elements() const { return channels * height * width; }
  bool operator==(const FeatureShape& other) const {
    return channels == other.channels && height == other.height && width == other.width;
  }
  std::string str() const;  // "CxHxW"
};

// Everything needed to instantiate (or cost) one block at one position of a network.
struct BlockArgs {
  FeatureShape input;
  int64_t out_channels = 0;  // ignored by ops without `out` (pools, dropout, skip keeps it)
  int64_t stride = 1;
  BlockOptions options;
};

}  // namespace dnas

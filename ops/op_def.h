// What one canonical op key means: its family, the hyper-parameters that distinguish it, and the
// function that lowers it to primitive steps (block_plan.h), plus the per-layer options
// (activation, BN, bias, padding ...) that configs may set. Torch-free so the spec, cost and CLI
// code can use it without pulling in LibTorch.
//
// Canonical keys (DESIGN.md): ir_k{3,5}_e{1,3,6}, ir_k{3,5}_e1_g2, ir_k{3,5}_e{3,6}_se, skip,
// shift_k{3,5}_e{1,3,6}, fire_sr{0.125,0.25,0.5}, conv_k{1,3,5,7}, maxpool_k3, avgpool, fc,
// dropout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace dnas {

// kHardSigmoid gates squeeze-excitation; the others are layer options ("act").
enum class Activation { kRelu, kRelu6, kHardSwish, kHardSigmoid, kNone };

const char* activation_name(Activation act);
// Throws dnas::Error naming `where` for anything but relu, relu6, hswish, hsigmoid or none.
Activation parse_activation(const std::string& name, const std::string& where);

// Per-layer options. Unset optionals take the op's default (see the accessors).
struct BlockOptions {
  Activation act = Activation::kRelu;   // conv / ir / shift / skip-projection activations
  std::optional<bool> batch_norm;       // conv: default on; fire: default off (SqueezeNet has none)
  std::optional<bool> bias;             // conv / fire: default: no BN
  std::optional<int64_t> padding;       // conv: default kernel/2; maxpool: default 0
  bool ceil_mode = false;               // maxpool
  double dropout_p = 0.5;               // dropout
  bool ir_e1_pointwise = true;          // ir with e=1: keep the first 1x1 conv (FBNet paper) or drop it

  bool batch_norm_or(bool family_default) const { return batch_norm.value_or(family_default); }
  bool conv_bias(bool with_batch_norm) const { return bias.value_or(!with_batch_norm); }
};

// A 3-D activation shape (channels, height, width) for one sample.
struct FeatureShape {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t elements() const;  // checked: an overflow is a dnas::Error
  bool operator==(const FeatureShape& other) const {
    return channels == other.channels && height == other.height && width == other.width;
  }
  bool operator!=(const FeatureShape& other) const { return !(*this == other); }
  std::string str() const;  // "CxHxW"
};

// Everything needed to instantiate (or cost) one block at one position of a network.
struct BlockArgs {
  FeatureShape input;
  int64_t out_channels = 0;  // ignored by ops without `out` (pools, dropout; skip keeps it)
  int64_t stride = 1;
  BlockOptions options;
};

struct BlockPlan;
struct OpDef;
// Lowers one op at one position to its primitive steps; validates the arguments and throws
// dnas::Error "<op key>: ..." for anything that cannot work.
using Lowering = BlockPlan (*)(const OpDef& op, const BlockArgs& args);

// One registry entry. Built with named, chainable setters:
//   OpDef("ir_k5_e6_se", "ir", lower_inverted_residual).with_kernel(5).with_expansion(6).with_se().candidate()
struct OpDef {
  OpDef() = default;
  OpDef(std::string key, std::string family, Lowering lower)
      : key(std::move(key)), family(std::move(family)), lower(lower) {}

  std::string key;
  std::string family;        // "ir", "skip", "shift", "fire", "conv", "maxpool", "avgpool", "fc", "dropout"
  Lowering lower = nullptr;
  int64_t kernel = 1;        // ir, shift, conv, maxpool
  int64_t expansion = 1;     // ir, shift
  int64_t groups = 1;        // ir: groups of both 1x1 convs (channel shuffle after the first)
  bool squeeze_excite = false;  // ir: squeeze-excitation after the depthwise conv (MobileNetV3)
  double squeeze_ratio = 0;  // fire: squeeze channels = round(out * ratio)
  bool is_candidate = false; // a search space may offer it in a searchable layer
  bool takes_out = true;     // configs give it `out` channels
  bool out_is_classes = false;  // `out` defaults to the number of classes (fc)
  int64_t default_padding = -1;  // -1: kernel / 2

  OpDef& with_kernel(int64_t k) { return kernel = k, *this; }
  OpDef& with_expansion(int64_t e) { return expansion = e, *this; }
  OpDef& with_groups(int64_t g) { return groups = g, *this; }
  OpDef& with_se() { return squeeze_excite = true, *this; }
  OpDef& with_squeeze_ratio(double r) { return squeeze_ratio = r, *this; }
  OpDef& with_default_padding(int64_t p) { return default_padding = p, *this; }
  OpDef& candidate() { return is_candidate = true, *this; }
  OpDef& without_out() { return takes_out = false, *this; }
  OpDef& out_defaults_to_classes() { return out_is_classes = true, *this; }

  // True for the blocks a search space may offer as candidates of a searchable layer.
  bool searchable() const { return is_candidate; }
  // True when the op takes an output-channel count (`out` in configs).
  bool has_out_channels() const { return takes_out; }
  int64_t padding_for(const BlockOptions& options) const;
};

}  // namespace dnas

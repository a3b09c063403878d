// Architectures: the concrete network as data ("format": "dnas-arch/1"), its JSON form, and its
// resolution into per-layer shapes and analytic costs.
//
//   {
//     "format": "dnas-arch/1", "name": "fbnet_c",
//     "input_size": 224, "input_channels": 3, "num_classes": 1000,
//     "init": "kaiming_fan_out",                  // or "squeezenet" (see network.h)
//     "defaults": {"ir_e1_pw": false},            // layer options applied to every layer
//     "stem":   [{"op": "conv_k3", "out": 16, "stride": 2}],
//     "layers": [{"op": "ir_k3_e1", "out": 16}, ...],          // the searchable positions
//     "head":   [{"op": "conv_k1", "out": 1984}, {"op": "avgpool"}, {"op": "fc"}],
//     "origin": {...}                             // optional provenance, kept verbatim
//   }
//
// Layer keys: op (canonical op key), out (channels, or "num_classes"; fc defaults to it),
// stride (default 1), and the options act (relu|relu6|hswish|hsigmoid|none), bn, bias, padding, ceil_mode,
// p (dropout probability), ir_e1_pw (an e=1 inverted residual keeps its first 1x1 conv).
// Unknown keys anywhere are errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ops/cost.h"
#include "ops/op_def.h"

namespace dnas {

inline constexpr const char* kArchFormat = "dnas-arch/1";

// Options a config sets explicitly; the rest inherit from the enclosing defaults.
struct OptionOverrides {
  std::optional<Activation> act;
  std::optional<bool> batch_norm;
  std::optional<bool> bias;
  std::optional<int64_t> padding;
  std::optional<bool> ceil_mode;
  std::optional<double> dropout_p;
  std::optional<bool> ir_e1_pointwise;

  BlockOptions apply_to(BlockOptions base) const;
  bool operator==(const OptionOverrides& other) const;
};

struct LayerSpec {
  std::string op;
  int64_t out = 0;                 // 0 when the op takes no `out`
  bool out_is_num_classes = false;  // `out` follows the arch's num_classes
  int64_t stride = 1;
  OptionOverrides options;

  bool operator==(const LayerSpec& other) const;
};

enum class InitScheme { kKaimingFanOut, kSqueezeNet };
const char* init_scheme_name(InitScheme scheme);

struct ArchSpec {
  std::string name;
  std::string description;
  int64_t input_size = 224;
  int64_t input_channels = 3;
  int64_t num_classes = 1000;
  InitScheme init = InitScheme::kKaimingFanOut;
  OptionOverrides defaults;
  std::vector<LayerSpec> stem;
  std::vector<LayerSpec> layers;
  std::vector<LayerSpec> head;
  nlohmann::json origin;  // null when absent
};

enum class Section { kStem, kLayers, kHead };
const char* section_name(Section section);

struct ResolvedLayer {
  Section section = Section::kStem;
  size_t index = 0;  // within its section
  LayerSpec spec;
  BlockArgs args;     // input shape, resolved out channels, stride, options
  BlockCost cost;     // analytic params / MACs / activation elements, and output shape
  std::string label() const;  // "layers[3]"
};

struct ResolvedArch {
  FeatureShape input;
  std::vector<ResolvedLayer> layers;  // stem, layers, head in order
  int64_t total_params() const;
  int64_t total_macs() const;
  int64_t total_activation_elements() const;
};

// Parse / serialise. `origin` names the file (or built-in) in error messages.
ArchSpec parse_arch(const nlohmann::json& document, const std::string& origin);
ArchSpec parse_arch_text(const std::string& text, const std::string& origin);
nlohmann::json arch_to_json(const ArchSpec& arch);

// Shapes and costs of every layer; `input_size` overrides the arch's. Throws dnas::Error naming
// the layer and op for anything that cannot work, and if the network does not end in
// num_classes x 1 x 1.
ResolvedArch resolve_arch(const ArchSpec& arch, std::optional<int64_t> input_size = std::nullopt,
                          const std::string& origin = "arch");

// Shape and cost of one layer at `input`; errors are prefixed "<where> (input CxHxW): ".
ResolvedLayer resolve_layer(const LayerSpec& spec, Section section, size_t index, const FeatureShape& input,
                            const BlockOptions& defaults, int64_t num_classes, const std::string& where);

// Throws unless `output` is num_classes x 1 x 1.
void check_network_output(const FeatureShape& output, int64_t num_classes, const std::string& origin);

// Layer-spec pieces shared with the search-space parser.
class ConfigReader;
OptionOverrides read_option_overrides(ConfigReader& reader);
void write_option_overrides(const OptionOverrides& options, nlohmann::json& out);
LayerSpec read_layer_spec(ConfigReader& reader);
nlohmann::json layer_to_json(const LayerSpec& layer);

}  // namespace dnas

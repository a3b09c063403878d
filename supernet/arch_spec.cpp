#include "supernet/arch_spec.h"

#include "common/checked_math.h"
#include "common/error.h"
#include "common/limits.h"
#include "ops/registry.h"
#include "common/config_reader.h"

namespace dnas {

BlockOptions OptionOverrides::apply_to(BlockOptions base) const {
  if (act) base.act = *act;
  if (batch_norm) base.batch_norm = *batch_norm;
  if (bias) base.bias = *bias;
  if (padding) base.padding = *padding;
  if (ceil_mode) base.ceil_mode = *ceil_mode;
  if (dropout_p) base.dropout_p = *dropout_p;
  if (ir_e1_pointwise) base.ir_e1_pointwise = *ir_e1_pointwise;
  return base;
}

bool OptionOverrides::operator==(const OptionOverrides& o) const {
  return act == o.act && batch_norm == o.batch_norm && bias == o.bias && padding == o.padding &&
         ceil_mode == o.ceil_mode && dropout_p == o.dropout_p && ir_e1_pointwise == o.ir_e1_pointwise;
}

bool LayerSpec::operator==(const LayerSpec& o) const {
  return op == o.op && out == o.out && out_is_num_classes == o.out_is_num_classes &&
         stride == o.stride && options == o.options;
}

const char* init_scheme_name(InitScheme scheme) {
  return scheme == InitScheme::kSqueezeNet ? "squeezenet" : "kaiming_fan_out";
}

const char* section_name(Section section) {
  switch (section) {
    case Section::kStem: return "stem";
    case Section::kLayers: return "layers";
    case Section::kHead: return "head";
  }
  return "?";
}

std::string ResolvedLayer::label() const {
  return detail::concat(section_name(section), "[", index, "]");
}

int64_t ResolvedArch::total_params() const {
  int64_t total = 0;
  for (const ResolvedLayer& l : layers) total = checked_add(total, l.cost.params, "the parameter count");
  return total;
}

int64_t ResolvedArch::total_macs() const {
  int64_t total = 0;
  for (const ResolvedLayer& l : layers) total = checked_add(total, l.cost.macs, "the MAC count");
  return total;
}

int64_t ResolvedArch::total_activation_elements() const {
  int64_t total = 0;
  for (const ResolvedLayer& l : layers) total = checked_add(total, l.cost.activation_elements, "the activation count");
  return total;
}

OptionOverrides read_option_overrides(ConfigReader& r) {
  for (const char* key : {"act", "bn", "bias", "padding", "ceil_mode", "p", "ir_e1_pw"}) r.allow(key);
  OptionOverrides o;
  if (auto act = r.optional_string("act")) o.act = parse_activation(*act, r.where("act"));
  if (r.has("bn")) o.batch_norm = r.boolean("bn");
  if (r.has("bias")) o.bias = r.boolean("bias");
  if (auto padding = r.optional_integer("padding")) {
    if (*padding < 0) r.fail("padding", detail::concat("expected padding >= 0, got ", *padding));
    r.check_at_most("padding", *padding, kMaxPadding);
    o.padding = padding;
  }
  if (r.has("ceil_mode")) o.ceil_mode = r.boolean("ceil_mode");
  if (r.has("p")) {
    const double p = r.number("p");
    if (!(p >= 0.0 && p < 1.0)) r.fail("p", detail::concat("expected a probability in [0, 1), got ", p));
    o.dropout_p = p;
  }
  if (r.has("ir_e1_pw")) o.ir_e1_pointwise = r.boolean("ir_e1_pw");
  return o;
}

void write_option_overrides(const OptionOverrides& o, nlohmann::json& out) {
  if (o.act) out["act"] = activation_name(*o.act);
  if (o.batch_norm) out["bn"] = *o.batch_norm;
  if (o.bias) out["bias"] = *o.bias;
  if (o.padding) out["padding"] = *o.padding;
  if (o.ceil_mode) out["ceil_mode"] = *o.ceil_mode;
  if (o.dropout_p) out["p"] = *o.dropout_p;
  if (o.ir_e1_pointwise) out["ir_e1_pw"] = *o.ir_e1_pointwise;
}

LayerSpec read_layer_spec(ConfigReader& r) {
  LayerSpec layer;
  layer.op = r.string("op");
  r.allow("stride");
  const OpDef& op = OpRegistry::builtin().at(layer.op, r.where("op"));
  if (op.has_out_channels()) {
    r.allow("out");
    if (r.has("out") && r.raw("out").is_string()) {
      const std::string token = r.raw("out").get<std::string>();
      if (token != "num_classes")
        r.fail("out", "expected a positive integer or \"num_classes\", got \"" + token + "\"");
      layer.out_is_num_classes = true;
    } else if (r.has("out")) {
      layer.out = r.integer("out");
      if (layer.out <= 0) r.fail("out", detail::concat("expected a positive channel count, got ", layer.out));
      r.check_at_most("out", layer.out, kMaxChannels);
    } else if (op.out_is_classes) {
      layer.out_is_num_classes = true;
    } else {
      r.fail("out", "missing required key (expected the output channel count of " + layer.op + ")");
    }
  }
  if (auto stride = r.optional_integer("stride")) {
    if (*stride < 1) r.fail("stride", detail::concat("expected a stride >= 1, got ", *stride));
    r.check_at_most("stride", *stride, kMaxStride);
    layer.stride = *stride;
  }
  layer.options = read_option_overrides(r);
  r.finish();
  return layer;
}

nlohmann::json layer_to_json(const LayerSpec& layer) {
  nlohmann::json out = nlohmann::json::object();
  out["op"] = layer.op;
  if (layer.out_is_num_classes) {
    out["out"] = "num_classes";
  } else if (layer.out > 0) {
    out["out"] = layer.out;
  }
  if (layer.stride != 1) out["stride"] = layer.stride;
  write_option_overrides(layer.options, out);
  return out;
}

namespace {

std::vector<LayerSpec> read_section(ConfigReader& r, const char* key, bool required) {
  std::vector<LayerSpec> out;
  if (!required && !r.has(key)) {
    r.allow(key);
    return out;
  }
  for (ConfigReader& layer : r.object_list(key)) out.push_back(read_layer_spec(layer));
  return out;
}

int64_t positive(ConfigReader& r, const char* key, int64_t fallback, int64_t most) {
  if (!r.has(key)) {
    r.allow(key);
    return fallback;
  }
  const int64_t value = r.integer(key);
  if (value <= 0) r.fail(key, detail::concat("expected a positive integer, got ", value));
  r.check_at_most(key, value, most);
  return value;
}

}  // namespace

ArchSpec parse_arch(const nlohmann::json& document, const std::string& origin) {
  ConfigReader r(document, origin);
  const std::string format = r.string("format");
  if (format != kArchFormat)
    r.fail("format", "expected \"" + std::string(kArchFormat) + "\", got \"" + format + "\"");
  ArchSpec arch;
  arch.name = r.optional_string("name").value_or("");
  arch.description = r.optional_string("description").value_or("");
  arch.input_size = positive(r, "input_size", 224, kMaxInputSize);
  arch.input_channels = positive(r, "input_channels", 3, kMaxChannels);
  arch.num_classes = positive(r, "num_classes", 1000, kMaxClasses);
  if (auto init = r.optional_string("init")) {
    if (*init == "squeezenet") {
      arch.init = InitScheme::kSqueezeNet;
    } else if (*init != "kaiming_fan_out") {
      r.fail("init", "expected \"kaiming_fan_out\" or \"squeezenet\", got \"" + *init + "\"");
    }
  }
  if (r.has("defaults")) {
    ConfigReader defaults = r.object("defaults");
    arch.defaults = read_option_overrides(defaults);
    defaults.finish();
  } else {
    r.allow("defaults");
  }
  arch.stem = read_section(r, "stem", false);
  arch.layers = read_section(r, "layers", true);
  arch.head = read_section(r, "head", false);
  const size_t layers = arch.stem.size() + arch.layers.size() + arch.head.size();
  if (static_cast<int64_t>(layers) > kMaxLayers)
    r.fail("layers", detail::concat(layers, " layers in all, more than the ", kMaxLayers, " accepted"));
  if (r.has("origin")) arch.origin = r.raw("origin");
  else r.allow("origin");
  r.finish();
  DNAS_CHECK(!arch.stem.empty() || !arch.layers.empty() || !arch.head.empty(), origin,
             ": the arch has no layers");
  return arch;
}

ArchSpec parse_arch_text(const std::string& text, const std::string& origin) {
  return parse_arch(parse_json_text(text, origin), origin);
}

nlohmann::json arch_to_json(const ArchSpec& arch) {
  nlohmann::json out = nlohmann::json::object();
  out["format"] = kArchFormat;
  if (!arch.name.empty()) out["name"] = arch.name;
  if (!arch.description.empty()) out["description"] = arch.description;
  out["input_size"] = arch.input_size;
  out["input_channels"] = arch.input_channels;
  out["num_classes"] = arch.num_classes;
  out["init"] = init_scheme_name(arch.init);
  nlohmann::json defaults = nlohmann::json::object();
  write_option_overrides(arch.defaults, defaults);
  if (!defaults.empty()) out["defaults"] = defaults;
  for (const auto& [key, section] : {std::pair{"stem", &arch.stem}, std::pair{"layers", &arch.layers},
                                     std::pair{"head", &arch.head}}) {
    nlohmann::json list = nlohmann::json::array();
    for (const LayerSpec& layer : *section) list.push_back(layer_to_json(layer));
    out[key] = list;
  }
  if (!arch.origin.is_null()) out["origin"] = arch.origin;
  return out;
}

ResolvedLayer resolve_layer(const LayerSpec& spec, Section section, size_t index, const FeatureShape& input,
                            const BlockOptions& defaults, int64_t num_classes, const std::string& where) {
  ResolvedLayer layer;
  layer.section = section;
  layer.index = index;
  layer.spec = spec;
  const OpDef& op = OpRegistry::builtin().at(spec.op, where);
  layer.args.input = input;
  layer.args.out_channels = spec.out_is_num_classes ? num_classes
                            : op.has_out_channels() ? spec.out
                                                    : input.channels;
  layer.args.stride = spec.stride;
  layer.args.options = spec.options.apply_to(defaults);
  try {
    layer.cost = block_cost(op, layer.args);
  } catch (const Error& e) {
    throw Error(where + " (input " + input.str() + "): " + e.what());
  }
  return layer;
}

void check_network_output(const FeatureShape& output, int64_t num_classes, const std::string& origin) {
  const FeatureShape expected{num_classes, 1, 1};
  DNAS_CHECK(output == expected, origin, ": the network must end in num_classes x 1 x 1 = ", expected.str(),
             " (global pooling and a classifier), but its output is ", output.str());
}

ResolvedArch resolve_arch(const ArchSpec& arch, std::optional<int64_t> input_size,
                          const std::string& origin) {
  const int64_t size = input_size.value_or(arch.input_size);
  DNAS_CHECK(size > 0, origin, ": expected a positive input size, got ", size);
  DNAS_CHECK(size <= kMaxInputSize, origin, ": input size ", size, " is more than the ", kMaxInputSize, " accepted");
  ResolvedArch resolved;
  resolved.input = {arch.input_channels, size, size};
  const BlockOptions defaults = arch.defaults.apply_to(BlockOptions{});
  FeatureShape shape = resolved.input;
  for (const auto& [section, layers] : {std::pair{Section::kStem, &arch.stem},
                                        std::pair{Section::kLayers, &arch.layers},
                                        std::pair{Section::kHead, &arch.head}}) {
    for (size_t i = 0; i < layers->size(); ++i) {
      const std::string where = detail::concat(origin, ": ", section_name(section), "[", i, "]");
      resolved.layers.push_back(resolve_layer((*layers)[i], section, i, shape, defaults, arch.num_classes, where));
      shape = resolved.layers.back().cost.output;
    }
  }
  check_network_output(shape, arch.num_classes, origin);
  return resolved;
}

}  // namespace dnas

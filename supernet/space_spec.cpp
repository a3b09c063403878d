#include "supernet/space_spec.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/limits.h"
#include "ops/registry.h"
#include "common/config_reader.h"

namespace dnas {
namespace {

// Multiplies a decimal string by a small factor.
std::string multiply_decimal(const std::string& number, int64_t factor) {
  std::string out;
  int64_t carry = 0;
  for (auto it = number.rbegin(); it != number.rend(); ++it) {
    const int64_t digit = (*it - '0') * factor + carry;
    out.insert(out.begin(), static_cast<char>('0' + digit % 10));
    carry = digit / 10;
  }
  while (carry > 0) {
    out.insert(out.begin(), static_cast<char>('0' + carry % 10));
    carry /= 10;
  }
  return out;
}

// "ir_*, skip, shift_* or fire_*": the families with searchable blocks, from the registry.
std::string searchable_families() {
  std::vector<std::string> families;
  for (const std::string& key : OpRegistry::builtin().keys()) {
    const OpDef& op = OpRegistry::builtin().at(key, "registry");
    const std::string family = op.key == op.family ? op.family : op.family + "_*";
    if (op.searchable() && std::find(families.begin(), families.end(), family) == families.end())
      families.push_back(family);
  }
  std::string out;
  for (size_t i = 0; i < families.size(); ++i)
    out += (i == 0 ? "" : i + 1 == families.size() ? " or " : ", ") + families[i];
  return out;
}

std::vector<std::string> read_candidates(ConfigReader& r, const char* key) {
  std::vector<std::string> candidates = r.string_list(key);
  if (candidates.empty()) r.fail(key, "expected at least one candidate op key");
  const OpRegistry& registry = OpRegistry::builtin();
  for (size_t i = 0; i < candidates.size(); ++i) {
    const std::string where = r.where(detail::concat(key, "[", i, "]"));
    const OpDef& op = registry.at(candidates[i], where);
    DNAS_CHECK(op.searchable(), where, ": '", candidates[i], "' is a primitive, not a searchable block (use ",
               searchable_families(), ")");
    for (size_t j = 0; j < i; ++j)
      DNAS_CHECK(candidates[j] != candidates[i], where, ": candidate '", candidates[i], "' is listed twice");
  }
  return candidates;
}

}  // namespace

std::vector<SearchableLayer> SearchSpace::searchable_layers() const {
  std::vector<SearchableLayer> out;
  for (size_t s = 0; s < stages.size(); ++s) {
    for (int64_t r = 0; r < stages[s].repeats; ++r)
      out.push_back({s, stages[s].out, r == 0 ? stages[s].stride : 1, stages[s].candidates});
  }
  return out;
}

ArchSpec SearchSpace::derive(const std::vector<std::string>& choices) const {
  const std::vector<SearchableLayer> layers = searchable_layers();
  DNAS_CHECK(choices.size() == layers.size(), "space ", name, ": expected ", layers.size(),
             " choices (one per searchable layer), got ", choices.size());
  ArchSpec arch;
  arch.name = name;
  arch.input_size = input_size;
  arch.input_channels = input_channels;
  arch.num_classes = num_classes;
  arch.defaults = defaults;
  arch.stem = stem;
  arch.head = head;
  for (size_t i = 0; i < layers.size(); ++i) {
    bool offered = false;
    for (const std::string& c : layers[i].candidates) offered = offered || c == choices[i];
    DNAS_CHECK(offered, "space ", name, ": layer ", i, " has no candidate '", choices[i], "'");
    LayerSpec layer;
    layer.op = choices[i];
    layer.out = layers[i].out;
    layer.stride = layers[i].stride;
    arch.layers.push_back(layer);
  }
  arch.origin = {{"space", name}, {"choices", choices}};
  return arch;
}

std::string SearchSpace::size_exact() const {
  std::string size = "1";
  for (const SearchableLayer& l : searchable_layers())
    size = multiply_decimal(size, static_cast<int64_t>(l.candidates.size()));
  return size;
}

double SearchSpace::size_log10() const {
  double total = 0;
  for (const SearchableLayer& l : searchable_layers()) total += std::log10(l.candidates.size());
  return total;
}

SearchSpace parse_space(const nlohmann::json& document, const std::string& origin) {
  ConfigReader r(document, origin);
  const std::string format = r.string("format");
  if (format != kSpaceFormat)
    r.fail("format", "expected \"" + std::string(kSpaceFormat) + "\", got \"" + format + "\"");
  SearchSpace space;
  space.name = r.string("name");
  space.description = r.optional_string("description").value_or("");
  for (auto [key, field] : {std::pair{"input_size", &space.input_size},
                            std::pair{"input_channels", &space.input_channels},
                            std::pair{"num_classes", &space.num_classes}}) {
    *field = r.integer(key);
    if (*field <= 0) r.fail(key, detail::concat("expected a positive integer, got ", *field));
  }
  r.check_at_most("input_size", space.input_size, kMaxInputSize);
  r.check_at_most("input_channels", space.input_channels, kMaxChannels);
  r.check_at_most("num_classes", space.num_classes, kMaxClasses);
  if (r.has("defaults")) {
    ConfigReader defaults = r.object("defaults");
    space.defaults = read_option_overrides(defaults);
    defaults.finish();
  } else {
    r.allow("defaults");
  }
  std::vector<std::string> default_candidates;
  if (r.has("candidates")) default_candidates = read_candidates(r, "candidates");
  else r.allow("candidates");

  if (r.has("stem")) {
    for (ConfigReader& layer : r.object_list("stem")) space.stem.push_back(read_layer_spec(layer));
  } else {
    r.allow("stem");
  }
  std::vector<ConfigReader> stages = r.object_list("stages");
  if (stages.empty()) r.fail("stages", "expected at least one stage");
  for (ConfigReader& s : stages) {
    StageSpec stage;
    stage.out = s.integer("out");
    if (stage.out <= 0) s.fail("out", detail::concat("expected a positive channel count, got ", stage.out));
    s.check_at_most("out", stage.out, kMaxChannels);
    stage.repeats = s.integer("repeats");
    if (stage.repeats <= 0) s.fail("repeats", detail::concat("expected repeats >= 1, got ", stage.repeats));
    s.check_at_most("repeats", stage.repeats, kMaxStageRepeats);
    stage.stride = s.integer("stride");
    if (stage.stride != 1 && stage.stride != 2)
      s.fail("stride", detail::concat("expected stride 1 or 2, got ", stage.stride));
    if (s.has("candidates")) {
      stage.candidates = read_candidates(s, "candidates");
    } else {
      s.allow("candidates");
      if (default_candidates.empty())
        s.fail("candidates", "missing: give the stage candidates or a top-level `candidates` list");
      stage.candidates = default_candidates;
    }
    s.finish();
    space.stages.push_back(stage);
  }
  for (ConfigReader& layer : r.object_list("head")) space.head.push_back(read_layer_spec(layer));
  int64_t layers = static_cast<int64_t>(space.stem.size() + space.head.size());
  for (const StageSpec& stage : space.stages) layers += stage.repeats;
  if (layers > kMaxLayers)
    r.fail("stages", detail::concat(layers, " layers in all, more than the ", kMaxLayers, " accepted"));
  r.finish();
  resolve_space(space, std::nullopt, origin);  // every candidate must work where it is offered
  return space;
}

SearchSpace parse_space_text(const std::string& text, const std::string& origin) {
  return parse_space(parse_yaml_text(text, origin), origin);
}

ResolvedSpace resolve_space(const SearchSpace& space, std::optional<int64_t> input_size,
                            const std::string& origin) {
  const int64_t size = input_size.value_or(space.input_size);
  DNAS_CHECK(size > 0, origin, ": expected a positive input size, got ", size);
  DNAS_CHECK(size <= kMaxInputSize, origin, ": input size ", size, " is more than the ", kMaxInputSize, " accepted");
  const BlockOptions defaults = space.defaults.apply_to(BlockOptions{});
  ResolvedSpace resolved;
  resolved.input = {space.input_channels, size, size};
  FeatureShape shape = resolved.input;
  for (size_t i = 0; i < space.stem.size(); ++i) {
    resolved.stem.push_back(resolve_layer(space.stem[i], Section::kStem, i, shape, defaults, space.num_classes,
                                          detail::concat(origin, ": stem[", i, "]")));
    shape = resolved.stem.back().cost.output;
  }
  const std::vector<SearchableLayer> layers = space.searchable_layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    ResolvedSpaceLayer layer;
    layer.layer = layers[i];
    layer.input = shape;
    for (const std::string& key : layers[i].candidates) {
      LayerSpec spec;
      spec.op = key;
      spec.out = layers[i].out;
      spec.stride = layers[i].stride;
      const std::string where = detail::concat(origin, ": searchable layer ", i, " (stage ", layers[i].stage,
                                               ") candidate ", key);
      const ResolvedLayer candidate =
          resolve_layer(spec, Section::kLayers, i, shape, defaults, space.num_classes, where);
      if (!layer.candidates.empty())
        DNAS_CHECK(candidate.cost.output == layer.candidates.front().cost.output, where, ": output ",
                   candidate.cost.output.str(), " differs from the other candidates' ",
                   layer.candidates.front().cost.output.str());
      layer.candidates.push_back({key, candidate.args, candidate.cost});
    }
    shape = layer.candidates.front().cost.output;
    resolved.layers.push_back(std::move(layer));
  }
  for (size_t i = 0; i < space.head.size(); ++i) {
    resolved.head.push_back(resolve_layer(space.head[i], Section::kHead, i, shape, defaults, space.num_classes,
                                          detail::concat(origin, ": head[", i, "]")));
    shape = resolved.head.back().cost.output;
  }
  check_network_output(shape, space.num_classes, origin);
  return resolved;
}

}  // namespace dnas

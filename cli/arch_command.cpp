#include "cli/arch_command.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>

#include "cli/format.h"
#include "common/checked_math.h"
#include "common/error.h"
#include "common/file_io.h"
#include "supernet/config_store.h"

namespace dnas::cli {
namespace {

using nlohmann::json;

struct InfoOptions {
  std::string target;
  std::optional<int64_t> input_size;
  bool as_json = false;
};

json shape_json(const FeatureShape& s) { return json::array({s.channels, s.height, s.width}); }

std::string ends_with_any(const std::string& path, std::initializer_list<const char*> exts) {
  const std::string ext = std::filesystem::path(path).extension().string();
  for (const char* e : exts)
    if (ext == e) return ext;
  return "";
}

// A stem/head/arch layer row.
json layer_json(size_t row, const ResolvedLayer& l) {
  return {{"index", row},
          {"section", section_name(l.section)},
          {"position", l.index},
          {"op", l.spec.op},
          {"input", shape_json(l.args.input)},
          {"output", shape_json(l.cost.output)},
          {"stride", l.args.stride},
          {"params", l.cost.params},
          {"macs", l.cost.macs},
          {"activation_bytes", l.cost.activation_bytes()}};
}

void print_arch(const ArchSpec& arch, const std::string& origin, const InfoOptions& o) {
  const ResolvedArch r = resolve_arch(arch, o.input_size, origin);
  if (o.as_json) {
    json rows = json::array();
    for (size_t i = 0; i < r.layers.size(); ++i) rows.push_back(layer_json(i, r.layers[i]));
    json out = {{"kind", "arch"},
                {"name", arch.name},
                {"source", origin},
                {"input", shape_json(r.input)},
                {"num_classes", arch.num_classes},
                {"params", r.total_params()},
                {"macs", r.total_macs()},
                {"activation_bytes", 4 * r.total_activation_elements()},
                {"layers", rows}};
    std::cout << out.dump(2) << '\n';
    return;
  }
  std::cout << (arch.name.empty() ? "arch" : arch.name) << "  (" << origin << ")\n";
  if (!arch.description.empty()) std::cout << arch.description << '\n';
  std::cout << "input " << r.input.str() << ", " << arch.num_classes << " classes\n\n";
  Table table({"#", "layer", "op", "input", "output", "s", "params", "MACs", "act. (fp32)"},
              {true, false, false, true, true, true, true, true, true});
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const ResolvedLayer& l = r.layers[i];
    table.add_row({std::to_string(i), l.label(), l.spec.op, l.args.input.str(), l.cost.output.str(),
                   std::to_string(l.args.stride), with_commas(l.cost.params), human_count(l.cost.macs),
                   human_bytes(l.cost.activation_bytes())});
  }
  table.add_separator();
  table.add_row({"", "total", "", "", "", "", with_commas(r.total_params()), human_count(r.total_macs()),
                 human_bytes(4 * r.total_activation_elements())});
  table.print(std::cout);
  std::cout << "\nparams " << with_commas(r.total_params()) << ", MACs " << with_commas(r.total_macs())
            << " (" << human_count(r.total_macs()) << ") at " << r.input.height << "x" << r.input.width
            << ", batch 1\n";
}

void print_space(const SearchSpace& space, const std::string& origin, const InfoOptions& o) {
  const ResolvedSpace r = resolve_space(space, o.input_size, origin);
  const size_t stem_count = r.stem.size();
  int64_t fixed_params = 0, fixed_macs = 0, min_params = 0, max_params = 0, min_macs = 0, max_macs = 0;
  std::vector<const ResolvedLayer*> fixed_rows;  // stem then head
  for (const auto* section : {&r.stem, &r.head}) {
    for (const ResolvedLayer& l : *section) {
      fixed_rows.push_back(&l);
      fixed_params = checked_add(fixed_params, l.cost.params, "the parameter count");
      fixed_macs = checked_add(fixed_macs, l.cost.macs, "the MAC count");
    }
  }
  struct Range { int64_t min_params, max_params, min_macs, max_macs; };
  std::vector<Range> ranges;
  std::set<std::string> all_candidates;
  for (const ResolvedSpaceLayer& l : r.layers) {
    Range range{INT64_MAX, 0, INT64_MAX, 0};
    for (const CandidateCost& c : l.candidates) {
      range.min_params = std::min(range.min_params, c.cost.params);
      range.max_params = std::max(range.max_params, c.cost.params);
      range.min_macs = std::min(range.min_macs, c.cost.macs);
      range.max_macs = std::max(range.max_macs, c.cost.macs);
      all_candidates.insert(c.op);
    }
    ranges.push_back(range);
    min_params = checked_add(min_params, range.min_params, "the parameter count");
    max_params = checked_add(max_params, range.max_params, "the parameter count");
    min_macs = checked_add(min_macs, range.min_macs, "the MAC count");
    max_macs = checked_add(max_macs, range.max_macs, "the MAC count");
  }
  const int64_t total_min_params = checked_add(fixed_params, min_params, "the parameter count");
  const int64_t total_max_params = checked_add(fixed_params, max_params, "the parameter count");
  const int64_t total_min_macs = checked_add(fixed_macs, min_macs, "the MAC count");
  const int64_t total_max_macs = checked_add(fixed_macs, max_macs, "the MAC count");
  if (o.as_json) {
    json layers = json::array();
    for (size_t i = 0; i < r.layers.size(); ++i) {
      const ResolvedSpaceLayer& l = r.layers[i];
      json candidates = json::array();
      for (const CandidateCost& c : l.candidates)
        candidates.push_back({{"op", c.op}, {"params", c.cost.params}, {"macs", c.cost.macs},
                              {"activation_bytes", c.cost.activation_bytes()}});
      layers.push_back({{"index", i}, {"stage", l.layer.stage}, {"input", shape_json(l.input)},
                        {"out", l.layer.out}, {"stride", l.layer.stride}, {"candidates", candidates}});
    }
    json fixed = json::array();
    for (size_t i = 0; i < fixed_rows.size(); ++i) fixed.push_back(layer_json(i, *fixed_rows[i]));
    json out = {{"kind", "space"},
                {"name", space.name},
                {"source", origin},
                {"input", shape_json(r.input)},
                {"num_classes", space.num_classes},
                {"searchable_layers", r.layers.size()},
                {"space_size", space.size_exact()},
                {"space_size_log10", space.size_log10()},
                {"params_min", total_min_params},
                {"params_max", total_max_params},
                {"macs_min", total_min_macs},
                {"macs_max", total_max_macs},
                {"fixed_layers", fixed},
                {"layers", layers}};
    std::cout << out.dump(2) << '\n';
    return;
  }
  std::cout << space.name << "  (" << origin << ")\n";
  if (!space.description.empty()) std::cout << space.description << '\n';
  char size_text[64];
  std::snprintf(size_text, sizeof size_text, "%.3g", std::pow(10.0, space.size_log10()));
  std::cout << "input " << r.input.str() << ", " << space.num_classes << " classes; "
            << r.layers.size() << " searchable layers, " << all_candidates.size()
            << " distinct candidates; " << space.size_exact() << " (~" << size_text
            << ") architectures\n\n";
  Table table({"layer", "stage", "input", "out", "s", "#cand", "params min..max", "MACs min..max"},
              {false, true, true, true, true, true, true, true});
  for (size_t i = 0; i < stem_count; ++i) {
    const ResolvedLayer& l = *fixed_rows[i];
    table.add_row({l.label() + " " + l.spec.op, "", l.args.input.str(), std::to_string(l.cost.output.channels),
                   std::to_string(l.args.stride), "", with_commas(l.cost.params), human_count(l.cost.macs)});
  }
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const ResolvedSpaceLayer& l = r.layers[i];
    table.add_row({std::to_string(i), std::to_string(l.layer.stage), l.input.str(), std::to_string(l.layer.out),
                   std::to_string(l.layer.stride), std::to_string(l.candidates.size()),
                   with_commas(ranges[i].min_params) + ".." + with_commas(ranges[i].max_params),
                   human_count(ranges[i].min_macs) + ".." + human_count(ranges[i].max_macs)});
  }
  for (size_t i = stem_count; i < fixed_rows.size(); ++i) {
    const ResolvedLayer& l = *fixed_rows[i];
    table.add_row({l.label() + " " + l.spec.op, "", l.args.input.str(), std::to_string(l.cost.output.channels),
                   std::to_string(l.args.stride), "", with_commas(l.cost.params), human_count(l.cost.macs)});
  }
  table.add_separator();
  table.add_row({"total", "", "", "", "", "",
                 with_commas(total_min_params) + ".." + with_commas(total_max_params),
                 human_count(total_min_macs) + ".." + human_count(total_max_macs)});
  table.print(std::cout);
  bool shared = true;
  for (const StageSpec& stage : space.stages) shared = shared && stage.candidates == space.stages[0].candidates;
  for (size_t s = 0; s < space.stages.size(); ++s) {
    std::cout << (s == 0 ? "\n" : "") << (shared ? "candidates (every layer):" : "  stage " + std::to_string(s) + ":");
    for (const std::string& c : space.stages[s].candidates) std::cout << ' ' << c;
    std::cout << '\n';
    if (shared) break;
  }
}

void run_info(const InfoOptions& o) {
  DNAS_CHECK(!o.input_size || *o.input_size > 0, "--input: expected a positive size, got ", *o.input_size);
  std::error_code ec;
  if (std::filesystem::exists(o.target, ec)) {
    const std::string text = read_text_file(o.target);
    if (!ends_with_any(o.target, {".json"}).empty()) return print_arch(parse_arch_text(text, o.target), o.target, o);
    if (!ends_with_any(o.target, {".yaml", ".yml"}).empty())
      return print_space(parse_space_text(text, o.target), o.target, o);
    throw Error(o.target + ": expected an arch (.json) or a search space (.yaml) file");
  }
  const auto model = find_config(ConfigKind::kModel, o.target);
  const auto space = find_config(ConfigKind::kSpace, o.target);
  DNAS_CHECK(!(model && space), "'", o.target, "' names both a model and a search space; pass a path");
  if (model) return print_arch(parse_arch_text(model->text, model->origin), model->origin, o);
  if (space) return print_space(parse_space_text(space->text, space->origin), space->origin, o);
  if (o.target.find('/') != std::string::npos || o.target.find('.') != std::string::npos)
    read_text_file(o.target);  // throws naming the path and the OS reason
  throw Error("unknown model or space '" + o.target + "' (not a file; zoo models: " +
              config_names_listed(ConfigKind::kModel) + "; spaces: " + config_names_listed(ConfigKind::kSpace) + ")");
}

}  // namespace

void add_arch_command(CLI::App& app) {
  CLI::App* arch = app.add_subcommand("arch", "Inspect architectures, zoo models and search spaces");
  arch->require_subcommand(1);

  auto options = std::make_shared<InfoOptions>();
  CLI::App* info = arch->add_subcommand(
      "info",
      "Per-layer shapes, params and MACs of an arch, zoo model or search space\n"
      "For an arch: op, input and output shape, params, MACs and activation bytes per layer, with\n"
      "totals. For a space: the searchable layers, their candidates and the size of the space.\n"
      "Examples:\n"
      "  dnas arch info squeezenet1_0 --json\n"
      "  dnas arch info fbnet_c --input 224\n"
      "  dnas arch info fbnet            # the paper's search space\n"
      "  dnas arch info my_arch.json");
  info->add_option("target", options->target,
                   "A zoo model (" + config_names_listed(ConfigKind::kModel) + "),\na search space (" +
                       config_names_listed(ConfigKind::kSpace) + "), or a path to an arch .json / space .yaml")
      ->required();
  info->add_option("--input", options->input_size, "Input height and width (default: the config's)");
  info->add_flag("--json", options->as_json, "Print one JSON object (params and macs totals, per-layer rows)");
  info->callback([options] { run_info(*options); });
}

}  // namespace dnas::cli

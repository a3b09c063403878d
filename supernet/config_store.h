// Finding configs by name or path. A name like "fbnet_c" or "small" resolves, in order, to
//   1. an existing file at that path;
//   2. $DNAS_CONFIG_DIR/<models|spaces|targets|recipes|searches>/<name>.<json|yaml>, when that variable is set;
//   3. the copy of configs/ embedded in the binary at build time.
// Everything that loads a model or space goes through here, so the CLI, tests and (later) the
// profiler agree on what a name means.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "supernet/arch_spec.h"
#include "supernet/space_spec.h"

namespace dnas {

struct EmbeddedConfig {
  const char* path;  // relative to configs/, e.g. "models/fbnet_c.json"
  const char* text;
};
const std::vector<EmbeddedConfig>& embedded_configs();

// kRecipe: training recipes (recipes/, `dnas train --recipe`); kSearchRecipe: search settings
// (searches/, `dnas search --recipe`).
enum class ConfigKind { kModel, kSpace, kTarget, kRecipe, kSearchRecipe };

struct ConfigText {
  std::string origin;  // a file path, or "builtin:models/fbnet_c.json"
  std::string text;
};

// Names of the configs of one kind available without a path (built-in and $DNAS_CONFIG_DIR).
std::vector<std::string> config_names(ConfigKind kind);

// The same names joined with ", " (for help texts and errors, so that no list is kept by hand).
std::string config_names_listed(ConfigKind kind);

// The config a name or path refers to, or nullopt if none.
std::optional<ConfigText> find_config(ConfigKind kind, const std::string& name_or_path);

// The config's text by name or path; throws dnas::Error listing the available names when unknown.
ConfigText require_config(ConfigKind kind, const std::string& name_or_path);

// Load by zoo/space name or by path; throw dnas::Error listing the available names when unknown.
ArchSpec load_arch(const std::string& name_or_path);
SearchSpace load_space(const std::string& name_or_path);

}  // namespace dnas

#include "supernet/config_store.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/file_io.h"

namespace dnas {
namespace {

namespace fs = std::filesystem;

const char* folder(ConfigKind kind) {
  switch (kind) {
    case ConfigKind::kModel: return "models";
    case ConfigKind::kSpace: return "spaces";
    case ConfigKind::kTarget: return "targets";
    case ConfigKind::kRecipe: return "recipes";
    case ConfigKind::kSearchRecipe: return "searches";
  }
  return "?";
}
const char* extension(ConfigKind kind) {
  return kind == ConfigKind::kModel || kind == ConfigKind::kRecipe || kind == ConfigKind::kSearchRecipe ? ".json"
                                                                                                   : ".yaml";
}
const char* kind_name(ConfigKind kind) {
  switch (kind) {
    case ConfigKind::kModel: return "model";
    case ConfigKind::kSpace: return "search space";
    case ConfigKind::kTarget: return "target";
    case ConfigKind::kRecipe: return "recipe";
    case ConfigKind::kSearchRecipe: return "search recipe";
  }
  return "?";
}

std::string user_config_dir() {
  const char* dir = std::getenv("DNAS_CONFIG_DIR");
  return dir == nullptr ? "" : dir;
}

bool looks_like_path(const std::string& s) {
  return s.find('/') != std::string::npos || s.find('.') != std::string::npos;
}

}  // namespace

ConfigText require_config(ConfigKind kind, const std::string& name_or_path) {
  if (auto found = find_config(kind, name_or_path)) return *found;
  if (looks_like_path(name_or_path)) read_text_file(name_or_path);  // throws with the OS reason
  throw Error(detail::concat("unknown ", kind_name(kind), " '", name_or_path, "' (not a file; known ",
                             folder(kind), ": ", config_names_listed(kind), ")"));
}

std::vector<std::string> config_names(ConfigKind kind) {
  std::set<std::string> names;
  const std::string prefix = std::string(folder(kind)) + "/";
  const std::string ext = extension(kind);
  for (const EmbeddedConfig& c : embedded_configs()) {
    const std::string path = c.path;
    if (path.rfind(prefix, 0) == 0 && path.size() > ext.size() &&
        path.compare(path.size() - ext.size(), ext.size(), ext) == 0)
      names.insert(path.substr(prefix.size(), path.size() - prefix.size() - ext.size()));
  }
  const std::string dir = user_config_dir();
  std::error_code ec;
  if (!dir.empty() && fs::is_directory(fs::path(dir) / folder(kind), ec)) {
    for (const auto& entry : fs::directory_iterator(fs::path(dir) / folder(kind), ec))
      if (entry.path().extension() == ext) names.insert(entry.path().stem().string());
  }
  return {names.begin(), names.end()};
}

std::string config_names_listed(ConfigKind kind) {
  std::string out;
  for (const std::string& n : config_names(kind)) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::optional<ConfigText> find_config(ConfigKind kind, const std::string& name_or_path) {
  std::error_code ec;
  if (fs::is_regular_file(name_or_path, ec)) return ConfigText{name_or_path, read_text_file(name_or_path)};
  if (looks_like_path(name_or_path)) return std::nullopt;
  const std::string relative = std::string(folder(kind)) + "/" + name_or_path + extension(kind);
  const std::string dir = user_config_dir();
  if (!dir.empty()) {
    const fs::path candidate = fs::path(dir) / relative;
    if (fs::is_regular_file(candidate, ec)) return ConfigText{candidate.string(), read_text_file(candidate)};
  }
  for (const EmbeddedConfig& c : embedded_configs())
    if (relative == c.path) return ConfigText{std::string("builtin:") + c.path, c.text};
  return std::nullopt;
}

ArchSpec load_arch(const std::string& name_or_path) {
  const ConfigText config = require_config(ConfigKind::kModel, name_or_path);
  return parse_arch_text(config.text, config.origin);
}

SearchSpace load_space(const std::string& name_or_path) {
  const ConfigText config = require_config(ConfigKind::kSpace, name_or_path);
  return parse_space_text(config.text, config.origin);
}

}  // namespace dnas

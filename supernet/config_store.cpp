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

#include "ops/error.h"

namespace dnas {
namespace {

namespace fs = std::filesystem;

const char* folder(ConfigKind kind) {
  switch (kind) {
    case ConfigKind::kModel: return "models";
    case ConfigKind::kSpace: return "spaces";
    case ConfigKind::kTarget: return "targets";
    case ConfigKind::kRecipe: return "recipes";
  }
  return "?";
}
const char* extension(ConfigKind kind) {
  return kind == ConfigKind::kModel || kind == ConfigKind::kRecipe ? ".json" : ".yaml";
}
const char* kind_name(ConfigKind kind) {
  switch (kind) {
    case ConfigKind::kModel: return "model";
    case ConfigKind::kSpace: return "search space";
    case ConfigKind::kTarget: return "target";
    case ConfigKind::kRecipe: return "recipe";
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

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

ConfigText require_config(ConfigKind kind, const std::string& name_or_path) {
  if (auto found = find_config(kind, name_or_path)) return *found;
  if (looks_like_path(name_or_path)) read_text_file(name_or_path);  // throws with the OS reason
  throw Error(detail::concat("unknown ", kind_name(kind), " '", name_or_path, "' (not a file; known ",
                             folder(kind), ": ", joined(config_names(kind)), ")"));
}

namespace {

// What a path that is not a regular file is, for messages; "" for a regular file or nothing.
std::string special_file_kind(const fs::file_status& status) {
  switch (status.type()) {
    case fs::file_type::directory: return "directory";
    case fs::file_type::character: return "character device";
    case fs::file_type::block: return "block device";
    case fs::file_type::fifo: return "FIFO";
    case fs::file_type::socket: return "socket";
    case fs::file_type::regular:
    case fs::file_type::not_found:
    case fs::file_type::none: return "";
    default: return "special file";
  }
}

}  // namespace

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  const std::string kind = special_file_kind(status);
  if (!kind.empty()) throw Error(path + ": is a " + kind + ", expected a regular file");
  if (fs::exists(status)) {
    const auto size = fs::file_size(path, ec);
    if (!ec && size > static_cast<uintmax_t>(kMaxReadBytes))
      throw Error(detail::concat(path, ": is ", size, " bytes, more than the ", kMaxReadBytes,
                                 " (1 GiB) dnas reads into memory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read file (" + std::strerror(errno) + ")");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void check_output_path(const std::string& path) {
  std::error_code ec;
  const std::string kind = special_file_kind(fs::status(path, ec));
  DNAS_CHECK(kind.empty(), path, ": exists and is a ", kind, ", not a regular file; refusing to replace it (write to a file path)");
}

void commit_temp_file(const std::string& temp, const std::string& path) {
  try {
    check_output_path(path);
  } catch (const Error&) {
    ::unlink(temp.c_str());
    throw;
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(temp.c_str());
    throw Error(path + ": cannot write (" + reason + ")");
  }
}

void write_text_file_atomic(const std::string& path, const std::string& text) {
  const fs::path target(path);
  std::error_code ec;
  check_output_path(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  DNAS_CHECK(fs::is_directory(dir, ec), path, ": cannot write (directory ", dir.string(), " does not exist)");
  std::string temp = (dir / ("." + target.filename().string() + ".tmpXXXXXX")).string();
  const int fd = mkstemp(temp.data());
  if (fd < 0) throw Error(path + ": cannot write (" + std::strerror(errno) + ")");
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);  // mkstemp creates 0600; give the file the usual permissions
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      ::unlink(temp.c_str());
      throw Error(path + ": cannot write (" + reason + ")");
    }
    written += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) {
    const std::string reason = std::strerror(errno);
    ::unlink(temp.c_str());
    throw Error(path + ": cannot write (" + reason + ")");
  }
  commit_temp_file(temp, path);
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

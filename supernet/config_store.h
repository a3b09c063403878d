// Finding configs by name or path. A name like "fbnet_c" or "small" resolves, in order, to
//   1. an existing file at that path;
//   2. $DNAS_CONFIG_DIR/<models|spaces>/<name>.<json|yaml>, when that variable is set;
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

enum class ConfigKind { kModel, kSpace, kTarget, kRecipe };

struct ConfigText {
  std::string origin;  // a file path, or "builtin:models/fbnet_c.json"
  std::string text;
};

// The most read_text_file() reads into memory.
constexpr int64_t kMaxReadBytes = int64_t{1} << 30;

// Reads a whole regular file of at most kMaxReadBytes; throws dnas::Error "<path>: ..." naming
// the reason. A directory, FIFO, device or socket is refused before it is opened (reading a FIFO
// or /dev/urandom would block or never end).
std::string read_text_file(const std::string& path);

// Refuses an output path that exists and is not a regular file (a directory, device, FIFO or
// socket): atomic writes rename over their target, which would replace, say, /dev/full with a
// regular file. Throws dnas::Error "<path>: exists and is a <kind> ...".
void check_output_path(const std::string& path);
// Renames the finished temporary file `temp` over `path` (check_output_path first); on failure
// removes `temp` and throws dnas::Error "<path>: cannot write (<reason>)".
void commit_temp_file(const std::string& temp, const std::string& path);

// Writes `text` to `path` atomically: a temporary file in the same directory, flushed, then
// renamed over `path`, so readers never see a half-written file and a failure leaves no partial
// file behind. Throws dnas::Error "<path>: cannot write ..." naming the reason.
void write_text_file_atomic(const std::string& path, const std::string& text);

// Names of the configs of one kind available without a path (built-in and $DNAS_CONFIG_DIR).
std::vector<std::string> config_names(ConfigKind kind);

// The config a name or path refers to, or nullopt if none.
std::optional<ConfigText> find_config(ConfigKind kind, const std::string& name_or_path);

// The config's text by name or path; throws dnas::Error listing the available names when unknown.
ConfigText require_config(ConfigKind kind, const std::string& name_or_path);

// Load by zoo/space name or by path; throw dnas::Error listing the available names when unknown.
ArchSpec load_arch(const std::string& name_or_path);
SearchSpace load_space(const std::string& name_or_path);

}  // namespace dnas

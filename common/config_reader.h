// Strict, path-tracking access to a parsed config object (arch JSON or space YAML, both held as
// nlohmann::json). Every error names the file, the key path and the offending value, e.g.
//   configs/spaces/x.yaml: stages[2].out: expected a positive integer, got -3
// and finish() rejects keys nobody asked for, listing the ones that are allowed.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/json.h"

namespace dnas {

class ConfigReader {
 public:
  // `node` must outlive the reader. `path` is "" for the document root.
  ConfigReader(const Json& node, std::string origin, std::string path = "");

  bool has(const std::string& key) const;
  // Reads `key` into `field` when present (leaving it unchanged otherwise); the key is allowed.
  void read_optional(const std::string& key, std::string& field);
  void read_optional(const std::string& key, int64_t& field);
  void read_optional(const std::string& key, double& field);
  void read_optional(const std::string& key, bool& field);
  // Declares an optional key as allowed without reading it (for finish()'s message).
  void allow(const std::string& key) { asked_.push_back(key); }
  int64_t integer(const std::string& key);
  // Fails "<key>: <value> is more than the <most> accepted" when value > most.
  void check_at_most(const std::string& key, int64_t value, int64_t most) const;
  std::optional<int64_t> optional_integer(const std::string& key);
  double number(const std::string& key);
  bool boolean(const std::string& key);
  std::string string(const std::string& key);
  std::optional<std::string> optional_string(const std::string& key);
  std::vector<std::string> string_list(const std::string& key);
  // The raw value (for free-form provenance blocks); marks the key used.
  const Json& raw(const std::string& key);
  ConfigReader object(const std::string& key);
  std::vector<ConfigReader> object_list(const std::string& key);

  // Throws naming the first key that was never read, and the allowed keys.
  void finish() const;

  // "<origin>: <path>.<key>" for messages about a value this reader holds.
  std::string where(const std::string& key = "") const;
  const std::string& origin() const { return origin_; }
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

 private:
  const Json& require(const std::string& key, Json::value_t expected, const char* what);
  std::string child_path(const std::string& key) const;

  const Json* node_;
  std::string origin_;
  std::string path_;
  std::set<std::string> used_;
  std::vector<std::string> asked_;  // every key looked up, for the "allowed" list
};

// Renders a JSON value compactly for error messages ("-3", "\"ir_k9\"", "[...]").
std::string describe_value(const Json& value);

}  // namespace dnas

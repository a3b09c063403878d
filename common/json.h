// The JSON type every config, log line and --json output uses, and parsing of JSON and YAML text
// into it with one-line errors "<origin>: ..." (syntax errors with their line, empty documents).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace dnas {

using Json = nlohmann::json;

// The deepest nesting of objects and lists a JSON or YAML document may have (configs need < 10).
constexpr int kMaxConfigNesting = 64;
// The most nodes a YAML document may expand to through its aliases.
constexpr int64_t kMaxYamlNodes = 1000000;

// Refuses text with a NUL byte or invalid UTF-8, naming the line: "<origin>:<line>: ...".
void check_utf8_text(const std::string& text, const std::string& origin);

// Both refuse deeper nesting, and YAML also aliases that form a cycle or expand past kMaxYamlNodes,
// with a one-line error instead of a crash or a hang.
Json parse_json_text(const std::string& text, const std::string& origin);
Json parse_yaml_text(const std::string& text, const std::string& origin);

}  // namespace dnas

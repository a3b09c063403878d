// The JSON type every config, log line and --json output uses, and parsing of JSON and YAML text
// into it with one-line errors "<origin>: ..." (syntax errors with their line, empty documents).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace dnas {

using Json = nlohmann::json;

Json parse_json_text(const std::string& text, const std::string& origin);
Json parse_yaml_text(const std::string& text, const std::string& origin);

}  // namespace dnas

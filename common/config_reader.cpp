#include "common/config_reader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "common/error.h"

namespace dnas {
namespace {

bool is_blank(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c); });
}

// Plain YAML scalars are typed the way YAML 1.2's core schema types them; quoted ones stay strings.
Json yaml_scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  errno = 0;
  char* end = nullptr;
  const long long as_int = std::strtoll(text.c_str(), &end, 10);
  if (errno == 0 && end != nullptr && *end == '\0') return static_cast<int64_t>(as_int);
  errno = 0;
  const double as_double = std::strtod(text.c_str(), &end);
  if (errno == 0 && end != nullptr && *end == '\0') return as_double;
  return text;
}

Json yaml_to_json(const YAML::Node& node, const std::string& origin) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return yaml_scalar_to_json(node);
    case YAML::NodeType::Sequence: {
      Json list = Json::array();
      for (const YAML::Node& item : node) list.push_back(yaml_to_json(item, origin));
      return list;
    }
    case YAML::NodeType::Map: {
      Json object = Json::object();
      for (const auto& entry : node) {
        const std::string key = entry.first.as<std::string>();
        DNAS_CHECK(!object.contains(key), origin, ":", entry.first.Mark().line + 1,
                   ": duplicate key '", key, "'");
        object[key] = yaml_to_json(entry.second, origin);
      }
      return object;
    }
  }
  return nullptr;
}

std::string type_name(const Json& value) {
  if (value.is_number_integer()) return "integer";
  return value.type_name();
}

}  // namespace

std::string describe_value(const Json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

Json parse_json_text(const std::string& text, const std::string& origin) {
  DNAS_CHECK(!is_blank(text), origin, ": file is empty (expected a JSON object)");
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    std::string message = e.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: ..." -> drop the tag.
    const auto tag_end = message.find("] ");
    if (tag_end != std::string::npos) message = message.substr(tag_end + 2);
    throw Error(detail::concat(origin, ": malformed JSON: ", message));
  }
}

Json parse_yaml_text(const std::string& text, const std::string& origin) {
  DNAS_CHECK(!is_blank(text), origin, ": file is empty (expected a YAML mapping)");
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(detail::concat(origin, ":", e.mark.line + 1, ":", e.mark.column + 1,
                               ": malformed YAML: ", e.msg));
  }
  DNAS_CHECK(root.IsMap(), origin, ": expected a YAML mapping at the top level");
  return yaml_to_json(root, origin);
}

ConfigReader::ConfigReader(const Json& node, std::string origin, std::string path)
    : node_(&node), origin_(std::move(origin)), path_(std::move(path)) {
  if (!node.is_object())
    throw Error(detail::concat(origin_, ": ", path_.empty() ? "document" : path_,
                               ": expected an object, got ", describe_value(node)));
}

std::string ConfigReader::child_path(const std::string& key) const {
  if (key.empty()) return path_;
  return path_.empty() ? key : path_ + "." + key;
}

std::string ConfigReader::where(const std::string& key) const {
  const std::string path = child_path(key);
  return path.empty() ? origin_ : origin_ + ": " + path;
}

void ConfigReader::fail(const std::string& key, const std::string& message) const {
  throw Error(where(key) + ": " + message);
}

bool ConfigReader::has(const std::string& key) const {
  return node_->contains(key) && !(*node_)[key].is_null();
}

const Json& ConfigReader::require(const std::string& key, Json::value_t expected, const char* what) {
  asked_.push_back(key);
  if (!node_->contains(key)) fail(key, detail::concat("missing required key (expected ", what, ")"));
  used_.insert(key);
  const Json& value = (*node_)[key];
  const bool ok = expected == Json::value_t::number_float
                      ? value.is_number()
                      : (expected == Json::value_t::number_integer ? value.is_number_integer()
                                                                   : value.type() == expected);
  if (!ok) fail(key, detail::concat("expected ", what, ", got ", type_name(value), " ", describe_value(value)));
  return value;
}

int64_t ConfigReader::integer(const std::string& key) {
  return require(key, Json::value_t::number_integer, "an integer").get<int64_t>();
}

std::optional<int64_t> ConfigReader::optional_integer(const std::string& key) {
  asked_.push_back(key);
  if (!has(key)) return std::nullopt;
  return integer(key);
}

double ConfigReader::number(const std::string& key) {
  return require(key, Json::value_t::number_float, "a number").get<double>();
}

bool ConfigReader::boolean(const std::string& key) {
  return require(key, Json::value_t::boolean, "true or false").get<bool>();
}

std::string ConfigReader::string(const std::string& key) {
  return require(key, Json::value_t::string, "a string").get<std::string>();
}

std::optional<std::string> ConfigReader::optional_string(const std::string& key) {
  asked_.push_back(key);
  if (!has(key)) return std::nullopt;
  return string(key);
}

std::vector<std::string> ConfigReader::string_list(const std::string& key) {
  const Json& list = require(key, Json::value_t::array, "a list of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string())
      fail(detail::concat(key, "[", i, "]"), "expected a string, got " + describe_value(list[i]));
    out.push_back(list[i].get<std::string>());
  }
  return out;
}

void ConfigReader::read_optional(const std::string& key, std::string& field) {
  if (has(key)) field = string(key);
  else allow(key);
}
void ConfigReader::read_optional(const std::string& key, int64_t& field) {
  if (has(key)) field = integer(key);
  else allow(key);
}
void ConfigReader::read_optional(const std::string& key, double& field) {
  if (has(key)) field = number(key);
  else allow(key);
}
void ConfigReader::read_optional(const std::string& key, bool& field) {
  if (has(key)) field = boolean(key);
  else allow(key);
}

const Json& ConfigReader::raw(const std::string& key) {
  asked_.push_back(key);
  used_.insert(key);
  return (*node_)[key];
}

ConfigReader ConfigReader::object(const std::string& key) {
  return ConfigReader(require(key, Json::value_t::object, "an object"), origin_, child_path(key));
}

std::vector<ConfigReader> ConfigReader::object_list(const std::string& key) {
  const Json& list = require(key, Json::value_t::array, "a list of objects");
  std::vector<ConfigReader> out;
  for (size_t i = 0; i < list.size(); ++i)
    out.emplace_back(list[i], origin_, detail::concat(child_path(key), "[", i, "]"));
  return out;
}

void ConfigReader::finish() const {
  for (const auto& entry : node_->items()) {
    if (used_.count(entry.key())) continue;
    std::set<std::string> allowed(asked_.begin(), asked_.end());
    std::string allowed_list;
    for (const std::string& k : allowed) allowed_list += (allowed_list.empty() ? "" : ", ") + k;
    fail(entry.key(), "unknown key (allowed here: " + allowed_list + ")");
  }
}

}  // namespace dnas

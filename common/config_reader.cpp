#include "common/config_reader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <sstream>
#include <vector>

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
        DNAS_CHECK(entry.first.IsScalar(), origin, ":", entry.first.Mark().line + 1,
                   ": a mapping key must be a name, not a list or a mapping");
        const std::string key = entry.first.Scalar();
        DNAS_CHECK(!object.contains(key), origin, ":", entry.first.Mark().line + 1,
                   ": duplicate key '", key, "'");
        object[key] = yaml_to_json(entry.second, origin);
      }
      return object;
    }
  }
  return nullptr;
}

// Walks a YAML document's events before it is built into nodes, and refuses what would crash or
// hang the conversion to JSON: an alias inside its own anchor (a cycle), nesting deeper than
// kMaxConfigNesting, and aliases that expand to more than kMaxYamlNodes nodes ("billion laughs").
class YamlBounds : public YAML::EventHandler {
 public:
  explicit YamlBounds(std::string origin) : origin_(std::move(origin)) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor, 1); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string&) override {
    leaf(mark, anchor, 1);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto size = sizes_.find(anchor);
    if (size == sizes_.end())
      fail(mark, "an alias refers to the anchor it is inside (a cycle)");
    leaf(mark, YAML::NullAnchor, size->second);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    YAML::anchor_t anchor;
    int64_t nodes;
  };

  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& what) const {
    throw Error(detail::concat(origin_, ":", mark.line + 1, ":", mark.column + 1, ": ", what));
  }
  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (static_cast<int>(stack_.size()) >= kMaxConfigNesting)
      fail(mark, detail::concat("nested deeper than ", kMaxConfigNesting, " levels (the most accepted)"));
    last_mark_ = mark;
    stack_.push_back({anchor, 1});
  }
  void close() {
    const Frame frame = stack_.back();
    stack_.pop_back();
    finish(frame.anchor, frame.nodes);
  }
  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor, int64_t nodes) {
    last_mark_ = mark;
    finish(anchor, nodes);
  }
  void finish(YAML::anchor_t anchor, int64_t nodes) {
    if (anchor != YAML::NullAnchor) sizes_[anchor] = nodes;
    total_ += nodes;
    if (!stack_.empty()) stack_.back().nodes += nodes;
    if (total_ > kMaxYamlNodes || nodes > kMaxYamlNodes)
      fail(last_mark_, detail::concat("its aliases expand to more than ", kMaxYamlNodes,
                                      " nodes (the most accepted; an alias bomb?)"));
  }

  std::string origin_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, int64_t> sizes_;  // anchors defined so far -> the nodes each expands to
  int64_t total_ = 0;
  YAML::Mark last_mark_;
};

std::string type_name(const Json& value) {
  if (value.is_number_integer()) return "integer";
  return value.type_name();
}

}  // namespace

void check_utf8_text(const std::string& text, const std::string& origin) {
  int64_t line = 1;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    DNAS_CHECK(c != 0, origin, ":", line, ": a NUL byte (expected text)");
    if (c == '\n') ++line;
    const size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) valid = (static_cast<unsigned char>(text[i + k]) >> 6) == 0x2;
    DNAS_CHECK(valid, origin, ":", line, ": not valid UTF-8 (byte 0x", std::hex, static_cast<int>(c), ")");
    i += length;
  }
}

std::string describe_value(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

Json parse_json_text(const std::string& text, const std::string& origin) {
  DNAS_CHECK(!is_blank(text), origin, ": file is empty (expected a JSON object)");
  // nlohmann's parser keeps no depth limit, and printing or walking a value 100,000 levels deep
  // recurses off the stack: refuse deep nesting while parsing.
  const Json::parser_callback_t bounded = [&](int depth, Json::parse_event_t, Json&) {
    DNAS_CHECK(depth <= kMaxConfigNesting, origin, ": nested deeper than ", kMaxConfigNesting,
               " levels (the most accepted)");
    return true;
  };
  try {
    return Json::parse(text, bounded);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number too large
    std::string message = e.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: ..." -> drop the tag.
    const auto tag_end = message.find("] ");
    if (tag_end != std::string::npos) message = message.substr(tag_end + 2);
    throw Error(detail::concat(origin, ": malformed JSON: ", message));
  }
}

Json parse_yaml_text(const std::string& text, const std::string& origin) {
  DNAS_CHECK(!is_blank(text), origin, ": file is empty (expected a YAML mapping)");
  check_utf8_text(text, origin);
  try {
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    YamlBounds bounds(origin);
    while (parser.HandleNextDocument(bounds)) {
    }
    const YAML::Node root = YAML::Load(text);
    DNAS_CHECK(root.IsMap(), origin, ": expected a YAML mapping at the top level");
    return yaml_to_json(root, origin);
  } catch (const YAML::Exception& e) {  // from parsing, or from converting a node
    throw Error(detail::concat(origin, ":", e.mark.line + 1, ":", e.mark.column + 1,
                               ": malformed YAML: ", e.msg));
  }
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

void ConfigReader::check_at_most(const std::string& key, int64_t value, int64_t most) const {
  if (value > most) fail(key, detail::concat(value, " is more than the ", most, " accepted"));
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

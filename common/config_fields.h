// One field table per configuration (search, train, profile): every field is defined once, with
// its JSON key, the struct member it lives in, its help text and the values it accepts. From the
// table come the JSON writing and strict reading of the config, its validation (with one-line
// errors that name the flag and the accepted range), the resume check's list of changed keys,
// and (cli/config_flags.h) the command-line flags and their --help text. A field's flag is its
// key with '-' for '_': lr_w is --lr-w.
//
//   const ConfigFields<SearchConfig>& fields() {
//     static const auto table = ConfigFields<SearchConfig>("dnas-search/1")
//         .integer("epochs", &SearchConfig::epochs, "Epochs", Range::between(1, 100000))
//         .text("mode", &SearchConfig::mode, "soft or hard", {"soft", "hard"});
//     return table;
//   }
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "common/config_reader.h"
#include "common/error.h"
#include "common/json.h"

namespace dnas {

// The values a numeric field accepts; either end may be open or absent. Always finite.
struct Range {
  std::optional<double> min, max;
  bool min_open = false, max_open = false;

  static Range any() { return {}; }
  static Range at_least(double lo) { return {lo, std::nullopt, false, false}; }
  static Range above(double lo) { return {lo, std::nullopt, true, false}; }
  static Range between(double lo, double hi) { return {lo, hi, false, false}; }
  static Range between_open_max(double lo, double hi) { return {lo, hi, false, true}; }  // [lo, hi)
  static Range above_to(double lo, double hi) { return {lo, hi, true, false}; }          // (lo, hi]
  static Range open(double lo, double hi) { return {lo, hi, true, true}; }                // (lo, hi)

  bool contains(double v) const {
    if (!std::isfinite(v)) return false;
    if (min && (min_open ? v <= *min : v < *min)) return false;
    if (max && (max_open ? v >= *max : v > *max)) return false;
    return true;
  }
  // ">= 1", "> 0", "a value in [0, 1)"; "" when anything goes.
  std::string str() const {
    std::ostringstream out;
    if (min && max) {
      out << "a value in " << (min_open ? "(" : "[") << *min << ", " << *max << (max_open ? ")" : "]");
    } else if (min) {
      out << (min_open ? "> " : ">= ") << *min;
    } else if (max) {
      out << (max_open ? "< " : "<= ") << *max;
    }
    return out.str();
  }
};

template <typename Config>
struct ConfigField {
  using Member = std::variant<int64_t Config::*, double Config::*, std::string Config::*, bool Config::*>;
  std::string key;
  Member member;
  std::string help;
  Range range;                       // numbers
  std::vector<std::string> choices;  // strings; empty: any
  bool compared_on_resume = true;    // false for what names the run itself (out)
  bool flag_by_command = false;      // the command defines this field's flag itself
  std::vector<std::string> old_keys;  // what the key was called before it was renamed (read only)

  std::string flag() const {
    std::string name = "--" + key;
    for (char& c : name)
      if (c == '_') c = '-';
    return name;
  }
  // What the field accepts, for --help: "soft|hard", "a value in [0, 1)", ">= 1"; "" for anything.
  std::string accepted() const {
    if (!choices.empty()) {
      std::string out;
      for (const std::string& c : choices) out += (out.empty() ? "" : "|") + c;
      return out;
    }
    return range.str();
  }
  Json value(const Config& c) const {
    return std::visit([&](auto m) { return Json(c.*m); }, member);
  }
};

// "a or b", "a, b or c".
inline std::string either_of(const std::vector<std::string>& choices) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i)
    out += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  return out;
}

template <typename Config>
class ConfigFields {
 public:
  using Field = ConfigField<Config>;

  // `format` is written to and required in JSON; `also_read` lists other formats accepted on read
  // (a recipe that fills some fields), and `ignored` keys read and dropped (a recipe's description).
  explicit ConfigFields(std::string format, std::vector<std::string> also_read = {}, std::vector<std::string> ignored = {})
      : format_(std::move(format)), also_read_(std::move(also_read)), ignored_(std::move(ignored)) {}

  ConfigFields& integer(std::string key, int64_t Config::*m, std::string help, Range range = Range::any()) {
    return add(field(std::move(key), m, std::move(help), range));
  }
  ConfigFields& number(std::string key, double Config::*m, std::string help, Range range = Range::any()) {
    return add(field(std::move(key), m, std::move(help), range));
  }
  ConfigFields& text(std::string key, std::string Config::*m, std::string help, std::vector<std::string> choices = {}) {
    Field f = field(std::move(key), m, std::move(help), Range::any());
    f.choices = std::move(choices);
    return add(std::move(f));
  }
  ConfigFields& boolean(std::string key, bool Config::*m, std::string help) {
    return add(field(std::move(key), m, std::move(help), Range::any()));
  }
  // Reads an older `format` too: `defaults` sets, before the keys are read, what that format's
  // missing keys meant; `fixup` adjusts the result after.
  ConfigFields& migrate(std::string format, std::function<void(Config&)> defaults,
                        std::function<void(Config&)> fixup = {}) {
    also_read_.push_back(format);
    migrations_.push_back({std::move(format), std::move(defaults), std::move(fixup)});
    return *this;
  }
  // Adds a group of fields defined elsewhere (e.g. add_data_fields in data/data_config_fields.h).
  ConfigFields& with(void (*add_group)(ConfigFields&)) { return add_group(*this), *this; }
  // Modifiers of the field added last.
  ConfigFields& not_compared_on_resume() { return fields_.back().compared_on_resume = false, *this; }
  ConfigFields& flag_by_command() { return fields_.back().flag_by_command = true, *this; }
  // The field was called `old_key` before: configs that still say so read into it (both at once
  // is an error). It is written, and named in messages, under its current key only.
  ConfigFields& renamed_from(std::string old_key) { return fields_.back().old_keys.push_back(std::move(old_key)), *this; }

  const std::vector<Field>& fields() const { return fields_; }
  const std::string& format() const { return format_; }

  Json to_json(const Config& c) const {
    Json out = {{"format", format_}};
    for (const Field& f : fields_) out[f.key] = f.value(c);
    return out;
  }

  // The keys present in `document` over `base`; unknown keys and wrong types are errors naming the
  // file and key. Values are not range-checked here: validate() does that, naming the flag.
  Config from_json(const Json& document, const std::string& origin, Config base = {}) const {
    ConfigReader r(document, origin);
    const std::string format = r.string("format");
    bool known = format == format_;
    for (const std::string& other : also_read_) known = known || format == other;
    if (!known) {
      std::vector<std::string> quoted{"\"" + format_ + "\""};
      for (const std::string& other : also_read_) quoted.push_back("\"" + other + "\"");
      r.fail("format", "expected " + either_of(quoted) + ", got \"" + format + "\"");
    }
    const Migration* migration = nullptr;
    for (const Migration& m : migrations_)
      if (m.format == format) migration = &m;
    if (migration && migration->defaults) migration->defaults(base);
    for (const std::string& key : ignored_) {
      if (r.has(key)) r.raw(key);
      else r.allow(key);
    }
    for (const Field& f : fields_) {
      for (const std::string& old_key : f.old_keys) {
        if (!r.has(old_key)) continue;
        if (r.has(f.key)) r.fail(old_key, "the old name of " + f.key + ", given with it: keep only " + f.key);
        std::visit([&](auto m) { r.read_optional(old_key, base.*m); }, f.member);
      }
      std::visit([&](auto m) { r.read_optional(f.key, base.*m); }, f.member);
    }
    r.finish();
    if (migration && migration->fixup) migration->fixup(base);
    return base;
  }

  // Every field's range or choices; the first violation is a dnas::Error
  // "--momentum: expected a value in [0, 1), got 1.5".
  void validate(const Config& c) const {
    for (const Field& f : fields_) {
      if (const auto* m = std::get_if<std::string Config::*>(&f.member)) {
        const std::string& v = c.**m;
        if (f.choices.empty()) continue;
        bool ok = false;
        for (const std::string& choice : f.choices) ok = ok || v == choice;
        DNAS_CHECK(ok, f.flag(), ": expected ", either_of(f.choices), ", got '", v, "'");
      } else if (const auto* m = std::get_if<int64_t Config::*>(&f.member)) {
        DNAS_CHECK(f.range.contains(static_cast<double>(c.**m)), f.flag(), ": expected ", f.range.str(), ", got ", c.**m);
      } else if (const auto* m = std::get_if<double Config::*>(&f.member)) {
        DNAS_CHECK(f.range.contains(c.**m), f.flag(), ": expected ", f.range.str(), ", got ", c.**m);
      }
    }
  }

  // "epochs 3 -> 9" for every compared field whose value differs from `saved` to `now`.
  std::vector<std::string> differences(const Config& saved, const Config& now) const {
    std::vector<std::string> out;
    for (const Field& f : fields_) {
      if (!f.compared_on_resume) continue;
      const Json a = f.value(saved), b = f.value(now);
      if (a != b) out.push_back(f.key + " " + a.dump() + " -> " + b.dump());
    }
    return out;
  }

 private:
  static Field field(std::string key, typename Field::Member member, std::string help, Range range) {
    Field f;
    f.key = std::move(key);
    f.member = member;
    f.help = std::move(help);
    f.range = range;
    return f;
  }
  ConfigFields& add(Field f) {
    for (const Field& existing : fields_) DNAS_ASSERT(existing.key != f.key, "config field '", f.key, "' defined twice");
    fields_.push_back(std::move(f));
    return *this;
  }

  struct Migration {
    std::string format;
    std::function<void(Config&)> defaults, fixup;
  };
  std::string format_;
  std::vector<std::string> also_read_, ignored_;
  std::vector<Migration> migrations_;
  std::vector<Field> fields_;
};

// The largest value accepted for counts that size work or memory, named in their errors.
inline constexpr double kMaxEpochs = 100000;
inline constexpr double kMaxBatch = 65536;
inline constexpr double kMaxThreads = 1024;
inline constexpr double kMaxImageSize = 4096;

}  // namespace dnas

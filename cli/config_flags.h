// Command-line flags generated from a config's field table (common/config_fields.h): one flag per
// field, named after its key (lr_w: --lr-w), whose --help shows the field's help, its default and
// what it accepts. Booleans are switches: --key when the default is false, --no-key when it is
// true. The flags layer over a base configuration (a recipe, a --config file, or the config of a
// run being resumed): apply() writes only the flags that were given, so a resumed run can tell an
// explicit change from a default.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "common/config_fields.h"

namespace dnas::cli {

// A CLI11 check that a flag's number lies in `range`, for flags a command defines itself with the
// bounds of a config field: "expected a value in [1, 4096], got 0", as a config's own flags say.
inline CLI::Validator in_range(const Range& range) {
  return CLI::Validator(
      [range](std::string& text) -> std::string {
        double value = 0;
        std::istringstream in(text);
        if (!(in >> value) || !(in >> std::ws).eof()) return "expected a number, got '" + text + "'";
        return range.contains(value) ? std::string() : "expected " + range.str() + ", got " + text;
      },
      range.str());
}

template <typename Config>
class ConfigFlags {
 public:
  ConfigFlags(CLI::App* cmd, const ConfigFields<Config>& table) {
    const Config defaults{};
    for (const ConfigField<Config>& field : table.fields()) {
      if (field.flag_by_command) continue;
      std::visit([&](auto member) { add(cmd, field, member, defaults); }, field.member);
    }
  }
  ConfigFlags(const ConfigFlags&) = delete;
  ConfigFlags& operator=(const ConfigFlags&) = delete;

  // Writes every flag that was given into `config`.
  void apply(Config& config) const {
    for (const auto& set : setters_) set(config);
  }

 private:
  template <typename T>
  void add(CLI::App* cmd, const ConfigField<Config>& field, T Config::*member, const Config& defaults) {
    std::ostringstream help;
    help << field.help;
    std::ostringstream shown;
    shown << defaults.*member;
    if (!shown.str().empty()) help << " [" << shown.str() << "]";
    if (!field.accepted().empty()) help << " (" << field.accepted() << ")";
    CLI::Option* option = cmd->add_option(field.flag(), values_.*member, help.str());
    setters_.push_back([this, option, member](Config& c) {
      if (option->count() > 0) c.*member = values_.*member;
    });
  }
  void add(CLI::App* cmd, const ConfigField<Config>& field, bool Config::*member, const Config& defaults) {
    const bool value = !(defaults.*member);
    const std::string name = value ? field.flag() : "--no-" + field.flag().substr(2);
    CLI::Option* option = cmd->add_flag(name, value ? field.help : "Turn off: " + field.help);
    setters_.push_back([option, member, value](Config& c) {
      if (option->count() > 0) c.*member = value;
    });
  }

  Config values_;
  std::vector<std::function<void(Config&)>> setters_;
};

}  // namespace dnas::cli

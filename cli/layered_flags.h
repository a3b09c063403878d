// Command-line flags that layer over a base configuration (a recipe, a --config file, or the
// config of a run being resumed): each option writes into the configuration only when it was
// actually given, so a resumed run can tell an explicit change from a default.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace dnas::cli {

template <typename Config>
class LayeredFlags {
 public:
  // An option bound to `field`; its help shows the field's default.
  template <typename T>
  CLI::Option* add(CLI::App* cmd, const std::string& name, T Config::*field, const std::string& help) {
    std::ostringstream shown;
    shown << Config{}.*field;
    CLI::Option* option = cmd->add_option(name, values_.*field, shown.str().empty() ? help : help + " [" + shown.str() + "]");
    setters_.push_back([this, option, field](Config& c) {
      if (option->count() > 0) c.*field = values_.*field;
    });
    return option;
  }
  // A flag that sets `field` to `value` when given.
  void add_switch(CLI::App* cmd, const std::string& name, bool Config::*field, bool value, const std::string& help) {
    CLI::Option* option = cmd->add_flag(name, help);
    setters_.push_back([option, field, value](Config& c) {
      if (option->count() > 0) c.*field = value;
    });
  }
  // Writes every flag that was given into `config`.
  void apply(Config& config) const {
    for (const auto& set : setters_) set(config);
  }

 private:
  Config values_;
  std::vector<std::function<void(Config&)>> setters_;
};

}  // namespace dnas::cli

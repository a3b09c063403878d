// `dnas arch ...`: inspecting architectures, zoo models and search spaces.
#pragma once

namespace CLI {
class App;
}

namespace dnas::cli {

void add_arch_command(CLI::App& app);

}  // namespace dnas::cli

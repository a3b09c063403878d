// `dnas search`, `dnas sample` and `dnas report`: running a DNAS search, drawing architectures
// from its theta, and rendering its HTML report.
#pragma once

namespace CLI {
class App;
}

namespace dnas::cli {

void add_search_commands(CLI::App& app);

}  // namespace dnas::cli

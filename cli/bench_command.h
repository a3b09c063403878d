// `dnas bench`: `net` (end-to-end latency of a network, with the latency table's prediction beside
// it), `search-step` (cli/bench_search_step.h) and `shift` (cli/bench_shift.h).
#pragma once

namespace CLI {
class App;
}

namespace dnas::cli {

void add_bench_command(CLI::App& app);

}  // namespace dnas::cli

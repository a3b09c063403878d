// `dnas bench search-step`: images/s and memory of the search's own w and theta steps
// (search/search_step.h) on synthetic data; bench/search_step.py is the Python twin.
#pragma once

namespace CLI {
class App;
}

namespace dnas::cli {

void add_bench_search_step(CLI::App& bench);

}  // namespace dnas::cli

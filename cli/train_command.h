// `dnas train` and `dnas eval`: retraining an architecture from scratch and measuring it.
#pragma once

namespace CLI {
class App;
}

namespace dnas::cli {

void add_train_commands(CLI::App& app);

}  // namespace dnas::cli

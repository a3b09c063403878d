// `dnas profile-latency` and `dnas lut list | export | import | validate`: building, inspecting,
// moving and checking latency lookup tables.
#pragma once

namespace CLI {
class App;
}

namespace dnas::cli {

void add_profile_command(CLI::App& app);
void add_lut_command(CLI::App& app);

}  // namespace dnas::cli

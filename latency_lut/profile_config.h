// Everything that defines a `dnas profile-latency` run, resolved: what to time (a space or one
// arch, with input overrides), where to store it, and how to time it. Defined once, in
// profile_config_fields(), which gives the command its flags and `--dry-run --json` its record of
// the resolved settings.
#pragma once

#include <cstdint>
#include <string>

#include "common/config_fields.h"
#include "latency_lut/anchors.h"
#include "latency_lut/rounds.h"
#include "latency_lut/target_spec.h"
#include "latency_lut/timing.h"

namespace dnas {

struct ProfileConfig {
  std::string space;           // a space's blocks ...
  std::string arch;            // ... or one arch's
  std::string target;
  std::string db;              // "" = the target's table
  int64_t input = 0;           // 0 = the space's / arch's input size
  int64_t input_channels = 0;  // 0 = the space's / arch's
  int64_t num_classes = 0;     // 0 = the space's / arch's
  std::string device;          // "" = the target's profile_device
  int64_t batch = 1;
  std::string dtype = "fp32";
  std::string lut_layout = "nchw";  // the table's memory format
  int64_t threads = 0;         // 0 = LibTorch's default
  int64_t warmup = 2;          // per round
  int64_t repeats = 10;        // per round
  // The timing schedule's defaults are RoundsOptions' (latency_lut/rounds.h), kept in one place.
  int64_t rounds = RoundsOptions{}.rounds;
  int64_t seed = 0;            // of each round's order
  double canary_threshold = RoundsOptions{}.canary_threshold;
  int64_t max_retries = RoundsOptions{}.max_retries;
  double retry_budget = RoundsOptions{}.retry_budget;  // a fraction of the run's block-rounds
  bool as_timed = false;       // rows as timed, not normalized to the canary reference
  int64_t anchors = static_cast<int64_t>(kAnchors);  // stored rows re-timed first (anchors.h); 0: none

  // Every field's range, then exactly one of --space and --arch.
  void validate() const;
  LutSettings settings() const { return {batch, dtype, lut_layout}; }
  RoundsOptions rounds_options() const;
  // The timing options on `target` (its profile device unless --device says otherwise); applies
  // --threads. Throws dnas::Error for a device this machine cannot time on.
  TimingOptions timing(const TargetSpec& target) const;
};

const ConfigFields<ProfileConfig>& profile_config_fields();

// `timing` with profile-latency's default burst (warm-up and timed repeats per round): how a
// table's rows were most likely timed, so how its anchors are re-timed (anchors.h) by commands
// whose own bursts differ (lut validate, bench net).
TimingOptions with_profile_burst(TimingOptions timing);

}  // namespace dnas

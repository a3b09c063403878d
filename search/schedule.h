// The schedules of a search, as functions of where the run stands, so that a 4-epoch and a
// 90-epoch search both go the whole way:
//   temperature  anneal: tau0 * (tau_min / tau0)^p, p going from 0 at the first step to 1 at the
//                last, so every run starts at tau0 and ends at tau_min; exp: the FBNet paper's
//                tau0 * tau_decay^epoch; linear: tau0 to tau_min over the epochs;
//   warm-up      theta is frozen until warmup epochs (a real number: it may end mid-epoch) have
//                passed, a fraction of the run unless --warmup-epochs says otherwise;
//   cadence      with theta_every N > 0, a theta step follows every N-th w step.
#pragma once

#include <cstdint>

#include "search/search_config.h"

namespace dnas {

// Where step `step` of `steps` in epoch `epoch` stands in the whole run: 0 at the first step,
// 1 at the last.
double run_progress(const SearchConfig& config, int64_t epoch, int64_t step, int64_t steps);

double temperature(const SearchConfig& config, int64_t epoch, int64_t step, int64_t steps);

// True when theta trains at w step `step` of `steps` in `epoch` (after the warm-up).
bool theta_trains(const SearchConfig& config, int64_t epoch, int64_t step, int64_t steps);

// True when a theta step follows w step `step` (0-based) with the interleaved cadence.
inline bool theta_step_due(const SearchConfig& config, int64_t step) {
  return config.theta_every > 0 && (step + 1) % config.theta_every == 0;
}

}  // namespace dnas

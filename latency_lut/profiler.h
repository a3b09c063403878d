// Profiling: time each block configuration in isolation and store it (resumably) in a LutStore,
// and time whole networks end to end with the same discipline.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "latency_lut/block_enumeration.h"
#include "latency_lut/lut_store.h"
#include "latency_lut/target_spec.h"
#include "latency_lut/timing.h"
#include "supernet/arch_spec.h"

namespace dnas {

struct ProfileOptions {
  TimingOptions timing;  // runs at LibTorch's current intra-op thread count (recorded per run)
  std::string space;    // recorded in the run's provenance
  std::string command;  // the command line, recorded too
};

struct ProfileEvent {
  size_t index = 0;  // 0-based among the blocks still to measure
  size_t total = 0;
  const BlockToTime* block = nullptr;
  TimingStats stats;
};
using ProfileObserver = std::function<void(const ProfileEvent&)>;

struct ProfilePlan {
  std::vector<BlockToTime> pending;  // to measure
  size_t already_measured = 0;       // skipped: same target, key, threads and device
};

struct ProfileSummary {
  int64_t run_id = 0;  // 0 when nothing needed measuring
  size_t measured = 0;
  size_t skipped = 0;
  double seconds = 0;
};

// What still needs measuring in `store`: blocks without a row for this target measured with the
// current thread count and the same device.
ProfilePlan plan_profile(const LutStore& store, const TargetSpec& target, const std::vector<BlockToTime>& blocks,
                         const ProfileOptions& options);

// Measures `plan.pending`, committing each row as it is timed; `observer` sees every row.
ProfileSummary run_profile(LutStore& store, const TargetSpec& target, const ProfilePlan& plan,
                           const ProfileOptions& options, const ProfileObserver& observer);

// End-to-end latency of a whole network built from `arch` (fresh random weights).
TimingStats time_arch_end_to_end(const ArchSpec& arch, std::optional<int64_t> input_size, const TimingOptions& options);

}  // namespace dnas

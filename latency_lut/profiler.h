// Profiling: time each block configuration in isolation, in interleaved rounds checked by a drift
// canary (rounds.h), and store it resumably in a LutStore; and time whole networks end to end with
// the same discipline.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/modules/conv.h>

#include "latency_lut/block_enumeration.h"
#include "latency_lut/lut_store.h"
#include "latency_lut/target_spec.h"
#include "latency_lut/timing.h"
#include "supernet/arch_spec.h"

namespace dnas {

struct ProfileOptions {
  TimingOptions timing;  // per round; runs at LibTorch's current intra-op thread count (recorded per run)
  RoundsOptions rounds;
  bool normalize = true;  // scale rounds to the table's canary reference (rounds.h); false: as timed
  std::string space;    // recorded in the run's provenance
  std::string command;  // the command line, recorded too
};

struct ProfileEvent {
  size_t done = 0;   // block-rounds timed so far in this run
  size_t total = 0;  // block-rounds this run times
  const BlockToTime* block = nullptr;
  int64_t round = 0;            // the block's round, 0-based over all runs
  bool settled = true;
  std::optional<TimingStats> completed;  // set when this round completed the block's row
};
using ProfileObserver = std::function<void(const ProfileEvent&)>;

struct ProfilePlan {
  std::vector<BlockToTime> pending;  // to measure
  // Rounds each pending block already has (from an interrupted run): resumed, not repeated.
  std::vector<std::vector<RoundSamples>> rounds_done;
  size_t already_measured = 0;       // skipped: same target, key, threads and device
  size_t block_rounds(int64_t rounds) const;  // still to time
};

struct ProfileSummary {
  int64_t run_id = 0;  // 0 when nothing needed measuring
  size_t measured = 0;
  size_t skipped = 0;
  double seconds = 0;
  CanaryReport canary;
  double canary_reference_us = 0;  // what the rows are normalized to (rounds.h)
  bool new_reference = false;      // this run fixed the table's reference
  std::string conditions;          // JSON, as stored in the run
};

// What still needs measuring in `store`: blocks without a row for this target measured with the
// current thread count and the same device, with the rounds they already have.
ProfilePlan plan_profile(const LutStore& store, const TargetSpec& target, const std::vector<BlockToTime>& blocks,
                         const ProfileOptions& options);

// Measures `plan.pending` in rounds, committing every block-round as it is timed and each row with
// its last round, normalized to the table's canary reference for this target and setting (fixed by
// this run when it is the first; rounds.h); records the run's conditions (host_conditions.h) and
// canary figures, the reference among them.
// `observer` sees every block-round.
ProfileSummary run_profile(LutStore& store, const TargetSpec& target, const ProfilePlan& plan,
                           const ProfileOptions& options, const ProfileObserver& observer);

// The drift canary's reference kernel: a 3x3 convolution, 32 -> 32 channels on 28x28, timed on
// the profile's device, dtype and layout; a reading is the fastest of 3 iterations after
// kCanaryWarmup warm-ups. So many, because what ran before it lingers: right after a whole 224
// network it read 4% slower than after one block with 1 warm-up, 1% with 20, under 1% with 60
// (torch 1.13, this VM), and normalizing networks by a canary read in another state than the
// table's blocks' would skew validation by as much.
inline constexpr int kCanaryWarmup = 30;
class CanaryKernel {
 public:
  explicit CanaryKernel(const TimingOptions& options);
  double read();

 private:
  TimingOptions options_;
  torch::nn::Conv2d conv_{nullptr};
  std::unique_ptr<PreparedForward> forward_;
};

// End-to-end latency of a whole network built from `arch` (fresh random weights), timed in
// `rounds` bursts with the table's estimator (time_in_rounds).
TimingStats time_arch_end_to_end(const ArchSpec& arch, std::optional<int64_t> input_size, const TimingOptions& options,
                                 int64_t rounds);

}  // namespace dnas

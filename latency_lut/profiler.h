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

#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/conv.h>

#include "common/json.h"
#include "latency_lut/anchors.h"
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
  // Stored rows re-timed first to carry the run into the table's units (anchors.h); 0: the
  // canary reference alone. Only when normalizing into a table that already has a reference.
  size_t anchors = kAnchors;
  std::string space;    // recorded in the run's provenance
  std::string command;  // the command line, recorded too
};

struct ProfileEvent {
  size_t done = 0;   // block-rounds timed so far in this run
  size_t total = 0;  // block-rounds this run times
  const BlockToTime* block = nullptr;
  int64_t round = 0;            // the block's round, 0-based over all runs
  bool anchor = false;          // a stored block re-timed for the run's unit (anchors.h), not stored
  bool settled = true;
};
using ProfileObserver = std::function<void(const ProfileEvent&)>;

// Stored blocks to re-time (anchors.h) and the table's medians for them.
struct StoredAnchors {
  std::vector<BlockToTime> blocks;
  std::vector<double> stored_us;
};

// The anchors a run re-timed and the scale they gave, as a profile records them in its conditions
// and lut validate prints them: count, scale, min_ratio, max_ratio, table_reference_us.
Json anchors_json(const AnchorScale& anchors, double table_reference_us);

// Up to `count` of `blocks` that `store` has measured for `target` with the current thread count
// and `timing`'s device and setting, spread over their latencies (choose_anchors); none when the
// table has no canary reference for that setting (its rows are as timed, or it has none).
StoredAnchors stored_anchors(const LutStore& store, const TargetSpec& target, const std::vector<BlockToTime>& blocks,
                             const TimingOptions& timing, size_t count);

struct ProfilePlan {
  std::vector<BlockToTime> pending;  // to measure
  // Rounds each pending block already has (from an interrupted run): resumed, not repeated.
  std::vector<std::vector<RoundSamples>> rounds_done;
  size_t already_measured = 0;       // skipped: same target, key, threads and device
  // Already-measured blocks the run re-times first (anchors.h): chosen when the plan has blocks to
  // measure (stored_anchors).
  StoredAnchors anchors;
  size_t block_rounds(int64_t rounds) const;  // still to time, the anchors' rounds included
};

struct ProfileSummary {
  int64_t run_id = 0;  // 0 when nothing needed measuring
  size_t measured = 0;
  size_t skipped = 0;
  double seconds = 0;
  CanaryReport canary;
  double canary_reference_us = 0;  // what the rows are normalized to: table_reference_us x anchors.scale
  double table_reference_us = 0;   // the table's canary reference (rounds.h)
  bool new_reference = false;      // this run fixed the table's reference
  AnchorScale anchors;             // anchors.anchors == 0: none re-timed
  std::string conditions;          // JSON, as stored in the run
};

// What still needs measuring in `store`: blocks without a row for this target measured with the
// current thread count and the same device, with the rounds they already have; and, when there is
// any and the table has a canary reference for this setting (options.normalize), up to
// options.anchors of the measured ones to re-time first (choose_anchors).
ProfilePlan plan_profile(const LutStore& store, const TargetSpec& target, const std::vector<BlockToTime>& blocks,
                         const ProfileOptions& options);

// Measures `plan.pending` in rounds, with `plan.anchors` interleaved in the same rounds (anchors.h),
// committing every block-round as it is timed and, after the last round, each block's row,
// normalized to the table's canary reference for this target and setting (fixed by this run when
// it is the first; rounds.h) times the anchors' scale; records the run's conditions
// (host_conditions.h) and canary figures, the references and the anchors' among them. `observer`
// sees every block-round, the anchors' too.
ProfileSummary run_profile(LutStore& store, const TargetSpec& target, const ProfilePlan& plan,
                           const ProfileOptions& options, const ProfileObserver& observer);

// A block built once with its prepared input, so that every round times the same module and input.
struct TimedBlock {
  torch::nn::AnyModule module;
  std::unique_ptr<PreparedForward> forward;
};
TimedBlock build_for_timing(const BlockToTime& block, const TimingOptions& timing);

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

// time_arch_end_to_end with `anchors` (stored rows of its table, anchors.h; may be none) each timed
// right after the network in every round, as timed with `anchor_timing` (a profile's burst), and
// returns in `scale` what carries this machine's timings into the table's units: the network's
// median x the anchors' median of stored / re-timed (scale.anchors == 0 without anchors).
TimingStats time_arch_beside_anchors(const ArchSpec& arch, std::optional<int64_t> input_size,
                                     const TimingOptions& options, int64_t rounds, const StoredAnchors& anchors,
                                     const TimingOptions& anchor_timing, AnchorScale& scale);

}  // namespace dnas

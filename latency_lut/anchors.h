// Anchors: a few of a latency table's own rows, re-timed by a later run that adds rows to the
// table (profile-latency) or times networks against it (lut validate), so that run's timings land
// in the table's units.
//
// Why: rows are normalized to the table's canary reference (rounds.h), so that profiles made at
// different times share one unit. Within a run the canary follows a slow spell, but from one
// machine state to the next it does not follow the table's blocks: on 2026-12-07 the canary read
// 16% faster than at a small_mixed table's profile 5 hours before while the same blocks timed
// 10-11% faster, so rows added in the canary's unit would have sat 7-9% above the old ones
// (bench/README.md, "An old table against today's machine"). The table's own kernels follow it.
//
// So a run first times up to kAnchors already-stored blocks in interleaved rounds of their own,
// with the canary, and takes as its scale the median over them of
//     stored latency / (re-timed latency, normalized to the table's canary reference);
// it then normalizes its own rounds to reference x scale instead of the reference: its blocks are
// then in the table's units as the table's own rows measure the machine now, and the canary still
// follows the machine within the run. With no anchor (nothing stored yet for this setting), the
// reference alone, as before.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "latency_lut/lut_store.h"

namespace dnas {

// How many stored rows a run re-times by default: a median over 8 moves little when one of them
// is timed in a slow spell, and 8 blocks add 8 x rounds block-rounds (small_mixed at 28x28: about
// 2 s of a 40 s profile).
inline constexpr size_t kAnchors = 8;

struct AnchorPick {
  size_t index = 0;      // into the keys given to choose_anchors
  double stored_us = 0;  // the table's median for it
};

// Up to `count` of `keys` with a stored latency in `stored_us`, spread evenly over the order of
// their stored latencies with the cheapest and the dearest included (anchors that span the
// table's range), cheapest first; ties broken by key. None when count is 0 or none is stored.
std::vector<AnchorPick> choose_anchors(const std::vector<std::string>& keys,
                                       const std::map<std::string, double>& stored_us, size_t count);

struct AnchorScale {
  size_t anchors = 0;  // 0: no anchor; scale 1
  double scale = 1;    // median over anchors of stored / re-timed (normalized to the reference)
  double min_ratio = 1, max_ratio = 1;  // the anchors' spread around it
};

// The scale from each anchor's stored latency and its re-timed rounds (samples and canary), the
// rounds normalized to `reference_us` as combine_normalized_rounds does (reference_us <= 0: as
// timed). An anchor without a positive re-timed latency is left out.
AnchorScale anchor_scale(const std::vector<double>& stored_us, const std::vector<std::vector<RoundSamples>>& rounds,
                         double reference_us);

}  // namespace dnas

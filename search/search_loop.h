// The DNAS search (FBNet): alternating optimisation of the supernet weights w (SGD, cosine decay,
// on w_fraction of the training data) and the architecture logits theta (Adam, on the rest), with
// theta frozen for the warm-up and a Gumbel temperature schedule (search/schedule.h). A theta step
// follows every `theta_every` w steps (0: the paper's per-epoch alternation). The loss is FBNet's
// CE * alpha * (log LAT)^beta without a target (LAT the expected latency in microseconds from the
// table; the power applies to the log, which a common reimplementation bug gets wrong), and with
// a target one of the forms in search/search_step.h; the dual multiplier is updated after every
// theta step (search/latency_target.h). A target outside what the space can reach is refused.
// At the end the result is chosen among the argmax, the likeliest arch within the target and
// samples of softmax(theta), scored with recalibrated BatchNorm statistics, and optionally
// projected onto the target (search/derivation.h).
//
// The run directory (train/run_dir.h) holds config.json, log.jsonl (one line per epoch),
// theta.jsonl (theta after every epoch), checkpoint.pt (written atomically at every epoch end,
// every `checkpoint_every` steps and on interrupt), and at the end arch.json (the result, with
// its predicted latency and provenance) and candidates.json (every candidate with its latency and
// accuracy). The CLI adds report.html (report/report.h). Every random draw derives from (seed,
// epoch, phase, step), so a search resumed from any checkpoint ends with exactly the theta of an
// uninterrupted run.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "search/derivation.h"
#include "search/search_config.h"
#include "search/search_step.h"  // latency_aware_loss
#include "train/distributed.h"

namespace dnas {

struct EpochRecord {
  int64_t epoch = 0;
  double w_loss = 0, w_accuracy = 0;
  double theta_loss = 0, theta_accuracy = 0;  // accuracy on the theta split
  bool theta_trained = false;                 // false during warm-up
  double expected_latency_ms = 0;
  double temperature = 0, theta_entropy = 0, lr_w = 0, seconds = 0;
  double argmax_latency_ms = 0;  // the table latency of the current argmax arch
  double lambda = 0;             // the dual multiplier (--target-loss dual)
  double rank_divergence = 0;  // distributed: largest difference of any weight or theta across ranks
};

struct SearchProgress {
  std::string phase;  // "w" or "theta"
  int64_t epoch = 0, step = 0, steps = 0;
  double loss = 0;
};

struct SearchResult {
  std::string run_dir;
  bool interrupted = false;
  std::vector<std::string> choices;  // the result (search/derivation.h)
  double predicted_latency_ms = 0;   // its table latency
  bool latency_estimated = false;
  double latency_target_ms = 0;      // 0: none
  bool target_met = true;            // predicted <= target x (1 + tolerance)
  double derived_accuracy = 0;       // the result through the supernet on the theta split
  double theta_accuracy = 0;         // last epoch, sampled archs
  std::vector<Candidate> candidates;  // every arch considered, the result's `selected`
  std::vector<EpochRecord> epochs;
};

struct SearchCallbacks {
  std::function<void(const SearchProgress&)> on_step;
  std::function<void(const EpochRecord&)> on_epoch;
  std::function<void(const std::string&)> on_message;
};

// Runs (or with `resume`, continues) the search in config.out. `interrupt`, when set during
// the run, makes it write a checkpoint at the next step boundary and return interrupted.
SearchResult run_search(const SearchConfig& config, bool resume, const std::atomic<bool>* interrupt,
                        const SearchCallbacks& callbacks);

// The same search, data-parallel over `world`: config.batch_size is per rank, each rank reads its
// shard of both splits, the gradients of w and theta are averaged over the ranks, every rank draws
// the same Gumbel sample (the draws derive from the seed and the step), and rank 0 alone writes
// the run directory. All ranks must see `config.out` (a shared file system) to resume; a resume
// needs the same number of ranks. Each epoch's log line records the largest disagreement of any
// weight or theta between ranks (0 when they are in step).
SearchResult run_search(const SearchConfig& config, bool resume, const std::atomic<bool>* interrupt,
                        const SearchCallbacks& callbacks, const World& world);

}  // namespace dnas

// After the search: which architecture it hands back.
//
// The candidates are the argmax of theta, with a target the likeliest arch within it (exactly:
// likeliest_within in latency_target.h), and `samples` distinct archs within the target drawn from
// softmax(theta) (FBNet draws 6 and retrains them all; draws outside the target are rejected, so
// theta's preference is sampled where the result may lie), or for --method random `samples`
// uniform random archs within the target. Each is scored through the supernet on the theta split
// after its BatchNorm statistics are re-estimated on training images (SPOS: the running
// statistics of a supernet were gathered on a mixture of paths, which one path does not
// reproduce). The result is the most accurate candidate within the target (|LAT / T - 1| <=
// tolerance), or without a target the most accurate one; with --select likelihood it is instead
// the one that softmax(theta) makes likeliest (the sum over layers of log p(choice)), which
// retrained better than the supernet's pick in 18 of 24 search-quality pairs (bench/README.md,
// "What decides the pairs"); with --select trained the --trial-candidates likeliest within the
// target are trained from scratch (trial_training.h), the --trial-finalists most accurate on the
// theta split are trained again for --trial-final-epochs (once with each of --trial-final-seeds
// seeds, scored by the mean), and the most accurate of that final round wins (ties: the better
// first round, then the likelier); with --latency-constraint hard it is then projected onto
// LAT <= T (latency_target.h), and the projection is scored too. Every candidate is kept, with
// its table latency and accuracy, for the run's candidates.json, the CLI and the report.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/json.h"
#include "data/dataset.h"
#include "search/search_config.h"
#include "search/trial_training.h"
#include "supernet/space_spec.h"
#include "supernet/supernet.h"

namespace dnas {

struct Candidate {
  std::string name;               // "argmax", "likeliest", "sample 2", "random 5", "projected (...)"
  std::vector<int64_t> choice;    // candidate index per searchable layer
  std::vector<std::string> ops;
  double latency_us = 0;          // the table's
  double accuracy = 0;            // on the theta split
  double log_likelihood = 0;      // of `choice` under softmax(theta) at the end of the search
  double trial_accuracy = -1;     // --select trained: theta-split top-1 after trial training (-1: not trained)
  double trial_loss = 0;          // and its theta-split cross-entropy
  double trial_seconds = 0;
  double final_trial_accuracy = -1;  // --trial-finalists: theta-split top-1 after the longer final trial (-1: none;
                                     // the mean over --trial-final-seeds)
  double final_trial_loss = 0;       // the mean over --trial-final-seeds
  double final_trial_seconds = 0;    // the sum over --trial-final-seeds
  std::vector<double> final_trial_accuracies;  // each final seed's top-1, in --trial-final-seeds' order
  bool within_target = true;
  bool selected = false;
};

Json candidate_to_json(const Candidate& c);

// "" when `c` is within the target's band, else "over" or "under" (for messages).
inline const char* off_target(const Candidate& c, double target_us) {
  return c.within_target ? "" : c.latency_us > target_us ? "over" : "under";
}

// Re-estimates the running statistics of the BatchNorms on `sample`'s path (the stem, the chosen
// candidates, the head) as their plain average over `batches` batches of `split` in train mode,
// without gradients. Nothing else changes: no weight, no other BatchNorm.
void recalibrate_batch_norm(Supernet& net, const ArchSample& sample, const Dataset& data,
                            const std::vector<int64_t>& split, int64_t batch_size, int64_t batches, uint64_t order_seed,
                            bool channels_last);

// Top-1 accuracy of the fixed architecture `sample` through the supernet on `split`: in eval mode
// with the running statistics when `running_stats` (after recalibrate_batch_norm), else with
// each batch's own statistics.
double supernet_accuracy(Supernet& net, const ArchSample& sample, const Dataset& data, const std::vector<int64_t>& split,
                         int64_t batch_size, uint64_t order_seed, bool channels_last, bool running_stats);

// The one-hot ArchSample of a choice, on the supernet's device.
ArchSample choice_sample(const Supernet& net, const std::vector<int64_t>& choice);

// What the derivation reads besides the supernet.
struct DerivationInputs {
  const Dataset& data;
  const std::vector<int64_t>& w_split;      // BatchNorm recalibration
  const std::vector<int64_t>& theta_split;  // scoring
  const std::vector<std::vector<double>>& latency_us;  // [layer][candidate], the table's
  double fixed_us;
  const SearchSpace* space = nullptr;  // adapted to the data; --select trained builds its archs from it
};

// One trial of --select trained: the candidate trained from scratch for `epochs` with `seed`,
// scored on the theta split.
using TrialTrainer = std::function<TrialResult(const Candidate& c, int64_t epochs, uint64_t seed)>;

// --select trained's choice, given a trainer: the config's --trial-candidates likeliest candidates
// within the target each get a trial of --trial-epochs (one seed for all); then the
// --trial-finalists best of them get another of config.final_trial_epochs() (another seed for
// all; with --trial-final-seeds N, N other seeds, and the mean of the N scores is the final score),
// and the best of that final round wins (ties: the better first round, then the likelier).
// "Best" is by --trial-metric: the higher theta-split top-1, or the lower theta-split loss.
// With fewer than 2 finalists the first round decides. Records the scores in the candidates, calls
// `on_trial` after each trial and returns the winner's index (`fallback` when none is within).
size_t select_by_trials(const SearchConfig& config, std::vector<Candidate>& candidates, size_t fallback,
                        const TrialTrainer& train, const std::function<void(const Candidate&)>& on_trial = {});

// The candidates, scored, with the result `selected` (see the top of this file). Calls
// `on_candidate` after scoring each, and `on_trial` after each trial training, for progress.
std::vector<Candidate> derive_architecture(const SearchConfig& config, Supernet& net, const DerivationInputs& in,
                                           bool channels_last,
                                           const std::function<void(const Candidate&)>& on_candidate = {},
                                           const std::function<void(const Candidate&)>& on_trial = {});

}  // namespace dnas

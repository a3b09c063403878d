// Everything that defines a search, resolved: written to <run>/config.json ("dnas-search/3"), read
// back by --resume (which refuses a changed config, naming the keys) and accepted by --config.
// Every field is defined once, in search_config_fields(), which also gives `dnas search` its flags.
// A "dnas-search/1" config (written before latency targets, schedules and derivation were
// reworked) reads with the settings that reproduce how that version searched. `train_layout` was
// called `memory_format` before the latency table's own layout became a setting (`lut_layout`);
// configs that say `memory_format` still read. Configs of format 1 and 2 (before weight sharing)
// read as weight_sharing "separate", as they searched.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config_fields.h"
#include "common/json.h"
#include "latency_lut/lut_key.h"
#include "latency_lut/target_spec.h"

namespace dnas {

struct SearchConfig {
  std::string space = "small";
  std::string target = "host-cpu";
  std::string db;                 // "" = the target's table; estimates if it does not exist yet
  // Which of the table's rows to look latencies up in (lut_key.h); 0 / "" = the target's lut_batch,
  // lut_dtype, lut_layout (target_spec.h). See resolved_lut_settings().
  int64_t lut_batch = 0;
  std::string lut_dtype;
  std::string lut_layout;
  std::string data = "synthetic";
  std::string device = "cpu";
  std::string out = "runs/search";
  std::string method = "dnas";    // dnas | random (uniform single-path supernet, best of `samples` random archs)
  int64_t epochs = 10;
  int64_t batch_size = 64;
  int64_t warmup_epochs = -1;     // theta frozen; -1 = warmup_fraction of the run
  double warmup_fraction = 0.2;
  int64_t theta_every = 1;        // a theta step after every N w steps; 0 = the paper's per-epoch alternation
  std::string mode = "soft";      // soft | hard
  std::string w_sampling = "gumbel";  // hard mode's w-step paths: gumbel | uniform | bi (one of each)
  std::string theta_estimator = "gumbel";  // theta's gradient: gumbel (the sample's, FBNet / GDAS) | reinforce (TuNAS)
  int64_t reinforce_paths = 4;    // reinforce: archs drawn per theta batch, each one's baseline the others' mean
  std::string noise = "batch";    // batch | sample (per-sample Gumbel noise, soft mode)
  std::string weight_sharing = "auto";  // auto (nested in hard mode) | separate | nested (shared_convs.h)
  std::string schedule = "anneal";  // temperature: anneal (tau0 -> tau_min over the run) | exp (paper) | linear
  double tau0 = 5.0;
  double tau_decay = 0.95599748183;  // exp: exp(-0.045) per epoch
  double tau_min = 0.1;           // anneal / linear: the final temperature
  double lr_w = 0.1, momentum = 0.9, weight_decay = 1e-4;  // SGD, cosine decay
  double lr_theta = 0, theta_weight_decay = 5e-4;          // Adam; lr 0 = auto (resolved_lr_theta)
  std::string lr_theta_schedule = "cosine";                // cosine (decays with the run) | constant
  double alpha = 0.2, beta = 0.6;  // loss = CE * alpha * (log LAT_us)^beta (no target)
  double latency_target_ms = 0;    // 0 = no target
  double latency_target_fraction = 0;  // or: the target at this fraction of the reachable range
  std::string target_loss = "absolute";  // with a target: absolute | dual | hinge
  double latency_penalty = 5.0;    // absolute / hinge: the weight of the penalty
  double dual_lr = 0.05;           // dual: the multiplier's step per theta step
  double dual_max = 20.0;          // dual: |lambda| bound
  std::string latency_constraint = "soft";  // hard: project the result onto LAT <= target
  double latency_tolerance = 0.05;  // a result is within the target when |LAT / target - 1| <= this
  int64_t samples = 16;            // archs drawn from softmax(theta) within the target, besides the argmax and the likeliest
  std::string select = "accuracy";  // which candidate within the target wins: accuracy | likelihood | trained (derivation.h)
  int64_t trial_candidates = 8;    // --select trained: the likeliest candidates within the target trained from scratch
                                   // (8, not 4: bench/README.md, "The lower target")
  int64_t trial_epochs = 1;        // --select trained: epochs of each trial run (one pass over many images ranks
                                   // better than several over few: bench/README.md, "Trial candidates")
  int64_t trial_images = 0;        // --select trained: images of the w split each trial run trains on (0: all)
  int64_t trial_finalists = 2;     // --select trained: the best trials trained again, longer, to decide (0: no final round)
  int64_t trial_final_epochs = 0;  // --select trained: epochs of each final trial (0: 3 x trial_epochs)
  int64_t trial_final_seeds = 1;   // --select trained: seeds each finalist is trained with; its score is their mean
  std::string trial_metric = "accuracy";  // --select trained: trials rank by theta-split accuracy | loss
  int64_t recalibration_batches = 10;  // training batches that re-estimate BN statistics per arch (0: none)
  double w_fraction = 0.8;         // of the training set; the rest trains theta
  int64_t seed = 0;
  int64_t threads = 0;             // 0 = LibTorch's default
  std::string precision = "fp32";   // fp32, or bf16 (CUDA autocast)
  std::string train_layout = "nhwc";  // nhwc (channels-last: LibTorch's fast CPU depthwise kernels) or nchw
  int64_t image_size = 32;         // folder datasets
  int64_t max_samples = 0;         // 0 = the whole training set
  int64_t loader_threads = 0;       // image folders: decoding threads (0: the core count)
  bool skip_bad_images = false;     // image folders: skip bad files instead of stopping
  double crop_scale_min = 0.08;     // image folders: RandomResizedCrop's smallest area fraction
  double eval_resize_ratio = 256.0 / 224.0;  // image folders: Resize(size x this), CenterCrop(size)
  bool estimate_missing = false;
  int64_t checkpoint_every = 0;    // steps between mid-epoch checkpoints; 0 = end of epoch only

  // weight_sharing with auto resolved: nested when the supernet trains one path per step (--mode
  // hard), else separate.
  std::string resolved_weight_sharing() const;
  bool has_target() const { return latency_target_ms > 0 || latency_target_fraction > 0; }
  // --select trained with two or more finalists: the best trials are trained again to decide.
  bool has_final_round() const { return select == "trained" && trial_finalists >= 2; }
  // --select trained: epochs of each final trial (--trial-final-epochs, or three times --trial-epochs).
  int64_t final_trial_epochs() const { return trial_final_epochs > 0 ? trial_final_epochs : 3 * trial_epochs; }
  // Epochs (a real number: warm-up ends mid-epoch) with theta frozen.
  double resolved_warmup() const;
  // lr_theta, or when it is 0 a rate that lets theta move the same distance in any run: 30 / the
  // number of theta steps after the warm-up, kept within [0.01 (FBNet's, for 90 epochs), 0.3].
  double resolved_lr_theta(int64_t theta_steps) const;
  // Every field's range (search_config_fields()), then the rules between fields; throws
  // dnas::Error naming the flag.
  void validate() const;
};

const ConfigFields<SearchConfig>& search_config_fields();

// The table setting a search looks latencies up at: each of lut_batch, lut_dtype and lut_layout as
// the config gives it, else as the target does (whose own default is 1 / fp32 / nchw).
LutSettings resolved_lut_settings(const SearchConfig& config, const TargetSpec& target);

inline Json config_to_json(const SearchConfig& config) { return search_config_fields().to_json(config); }
// Reads a config.json of any format (see the top of this file), or a search recipe
// ("dnas-search-recipe/1": some of the fields and a "description", configs/searches/), over `base`.
inline SearchConfig config_from_json(const Json& document, const std::string& origin, SearchConfig base = {}) {
  return search_config_fields().from_json(document, origin, std::move(base));
}

}  // namespace dnas

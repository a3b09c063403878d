#include "search/search_config.h"

#include <algorithm>
#include <cmath>

#include "common/device.h"
#include "common/error.h"
#include "data/data_config_fields.h"
#include "supernet/config_store.h"

namespace dnas {

const ConfigFields<SearchConfig>& search_config_fields() {
  using C = SearchConfig;
  static const ConfigFields<C> fields =
      ConfigFields<C>("dnas-search/3", {"dnas-search-recipe/1"}, {"description"})
          // How dnas searched before format 2: the paper's per-epoch alternation, FBNet's loss
          // with a hinge penalty over a budget, warm-up round(epochs / 9) (at least 1), and the
          // argmax as the result, scored with batch statistics.
          .migrate("dnas-search/1",
                   [](C& c) {
                     c.theta_every = 0;
                     c.lr_theta_schedule = "constant";
                     c.target_loss = "hinge";
                     c.samples = 0;
                     c.recalibration_batches = 0;
                     c.weight_sharing = "separate";
                   },
                   [](C& c) {
                     if (c.warmup_epochs < 0)
                       c.warmup_epochs =
                           c.epochs <= 1 ? 0 : std::max<int64_t>(1, std::llround(static_cast<double>(c.epochs) / 9.0));
                   })
          // Format 2 had no weight sharing.
          .migrate("dnas-search/2", [](C& c) { c.weight_sharing = "separate"; })
          .text("space", &C::space, "Search space name (" + config_names_listed(ConfigKind::kSpace) + ") or .yaml")
          .text("target", &C::target, "Target whose latency table drives the loss")
          .text("db", &C::db, "Latency table (default: the target's; estimates if absent)")
          .integer("lut_batch", &C::lut_batch, "Batch of the table rows to use (0: the target's lut_batch, else 1)",
                   Range::between(0, kMaxBatch))
          .text("lut_dtype", &C::lut_dtype,
                "dtype of the table rows to use: fp32, fp16 or bf16 (default: the target's lut_dtype, else fp32)")
          .text("lut_layout", &C::lut_layout,
                "Layout of the table rows to use: nchw or nhwc (default: the target's lut_layout, else nchw)")
          .text("data", &C::data,
                "mnist:DIR (IDX, plain or .gz), fashion-mnist, cifar10:DIR, cifar100:DIR, folder:DIR, "
                "synthetic[:N[:SIZE[:C[:CLASSES]]]]")
          .text("device", &C::device, "Where to train", {"cpu", "cuda"})
          .text("out", &C::out, "Run directory").not_compared_on_resume()
          .text("method", &C::method,
                "dnas: train theta; random: the baseline (the supernet trained one uniform random path per step, "
                "theta never trained, the best of --samples random archs within the target)",
                {"dnas", "random"})
          .integer("epochs", &C::epochs, "Epochs", Range::between(1, kMaxEpochs))
          .integer("batch_size", &C::batch_size, "Batch size (per rank when distributed; BatchNorm needs 2)",
                   Range::between(2, kMaxBatch))
          .integer("warmup_epochs", &C::warmup_epochs, "Epochs with theta frozen (-1: --warmup-fraction of the run)",
                   Range::between(-1, kMaxEpochs))
          .number("warmup_fraction", &C::warmup_fraction, "Fraction of the run with theta frozen (weights warm up)",
                  Range::between_open_max(0, 1))
          .integer("theta_every", &C::theta_every,
                   "A theta step after every N w steps (0: the paper's alternation, a w epoch then a theta epoch)",
                   Range::between(0, 1000))
          .text("mode", &C::mode, "soft: every candidate runs; hard: one sampled path, straight-through",
                {"soft", "hard"})
          .text("w_sampling", &C::w_sampling,
                "Hard mode's w-step paths: gumbel (GDAS), uniform (SPOS), bi (one of each, TF-NAS)",
                {"gumbel", "uniform", "bi"})
          .text("theta_estimator", &C::theta_estimator,
                "Theta's gradient: gumbel (through the Gumbel-softmax sample, FBNet / GDAS), reinforce (TuNAS's "
                "policy gradient: --reinforce-paths archs drawn from softmax(theta) score each theta batch without "
                "gradients, and the ones whose cross-entropy beats the others' gain probability)",
                {"gumbel", "reinforce"})
          .integer("reinforce_paths", &C::reinforce_paths,
                   "Archs per theta batch under --theta-estimator reinforce (each one's baseline: the others' mean)",
                   Range::between(2, 64))
          .text("noise", &C::noise, "Gumbel noise per batch or per sample (soft mode)", {"batch", "sample"})
          .text("weight_sharing", &C::weight_sharing,
                "Candidates' conv weights: separate (FBNet), nested (k3 the centre of k5, e3 the first half of "
                "e6: single-path training learns in far fewer steps), auto (nested in hard mode)",
                {"auto", "separate", "nested"})
          .text("schedule", &C::schedule,
                "Temperature: anneal (tau0 to tau-min over the run, per step), exp (the paper: x tau-decay per "
                "epoch), linear (tau0 to tau-min, per epoch)",
                {"anneal", "exp", "linear"})
          .number("tau0", &C::tau0, "Initial temperature", Range::above_to(0, 1000))
          .number("tau_decay", &C::tau_decay, "Per-epoch factor of the exp schedule", Range::above_to(0, 1))
          .number("tau_min", &C::tau_min, "Final temperature of the anneal and linear schedules", Range::above_to(0, 1000))
          .number("lr_w", &C::lr_w, "SGD learning rate of the weights", Range::above(0))
          .number("momentum", &C::momentum, "SGD momentum of the weights", Range::between_open_max(0, 1))
          .number("weight_decay", &C::weight_decay, "SGD weight decay of the weights", Range::between(0, 1))
          .number("lr_theta", &C::lr_theta,
                  "Adam learning rate of theta (0: 30 / theta steps after the warm-up, within [0.01, 0.3], so that "
                  "short and long runs both commit)",
                  Range::at_least(0))
          .text("lr_theta_schedule", &C::lr_theta_schedule,
                "cosine: theta's rate decays with the run, as w's does, so the architecture settles; constant: the "
                "paper's",
                {"cosine", "constant"})
          .number("theta_weight_decay", &C::theta_weight_decay, "Adam weight decay of theta", Range::between(0, 1))
          .number("alpha", &C::alpha, "alpha in CE * alpha * (log LAT)^beta (no target)", Range::above_to(0, 1000))
          .number("beta", &C::beta, "beta in CE * alpha * (log LAT)^beta (no target)", Range::above_to(0, 100))
          .number("latency_target_ms", &C::latency_target_ms, "Latency target in ms (0: none; see --target-loss)",
                  Range::between(0, 1e9))
          .number("latency_target_fraction", &C::latency_target_fraction,
                  "Or the target as a fraction of the range the space reaches on the table (0: cheapest arch, 1: "
                  "dearest); the search prints the target in ms",
                  Range::between_open_max(0, 1))
          .text("target_loss", &C::target_loss,
                "With a target: absolute (CE + penalty |LAT/T - 1|, TuNAS), dual (CE + lambda (LAT/T - 1), lambda "
                "learned by dual ascent), hinge (FBNet's loss + penalty relu(LAT/T - 1): a budget, not a target)",
                {"absolute", "dual", "hinge"})
          .number("latency_penalty", &C::latency_penalty, "Weight of the absolute / hinge penalty",
                  Range::between(0, 1e6))
          .number("dual_lr", &C::dual_lr, "Step of the dual multiplier per theta step", Range::above_to(0, 100))
          .number("dual_max", &C::dual_max, "Bound on the dual multiplier's magnitude", Range::above_to(0, 1e6))
          .text("latency_constraint", &C::latency_constraint,
                "hard: project the result onto LAT <= target with the table (greedy shrink, then expand)",
                {"soft", "hard"})
          .number("latency_tolerance", &C::latency_tolerance,
                  "A result is within the target when |LAT / target - 1| <= this", Range::between(0, 1))
          .integer("samples", &C::samples,
                   "Archs drawn from softmax(theta) within the target (others are redrawn), besides the argmax and the likeliest arch "
                   "within the target; the best wins (0: those two only)",
                   Range::between(0, 10000))
          .text("select", &C::select,
                "Which candidate within the target wins: accuracy (its score on the theta split through the "
                "supernet), likelihood (the one softmax(theta) makes likeliest, found exactly; the scores are still "
                "reported) or trained (the --trial-candidates likeliest, each trained from scratch for --trial-epochs "
                "on the w split and scored on the theta split: FBNet's retrain-and-keep-the-best in miniature)",
                {"accuracy", "likelihood", "trained"})
          .integer("trial_candidates", &C::trial_candidates,
                   "--select trained: how many of the likeliest candidates within the target are trained",
                   Range::between(1, 1000))
          .integer("trial_epochs", &C::trial_epochs,
                   "--select trained: epochs of each trial training (one pass over the whole w split ranks "
                   "better than several over part of it)",
                   Range::between(1, 1000))
          .integer("trial_images", &C::trial_images,
                   "--select trained: w-split images each trial trains on (0: all of them)", Range::at_least(0))
          .integer("trial_finalists", &C::trial_finalists,
                   "--select trained: the best trials are trained again from scratch for --trial-final-epochs, and the "
                   "best of this final round wins (successive halving; 0: the first round decides)",
                   Range::between(0, 1000))
          .integer("trial_final_epochs", &C::trial_final_epochs,
                   "--select trained: epochs of each final trial (0: three times --trial-epochs)", Range::between(0, 1000))
          .integer("trial_final_seeds", &C::trial_final_seeds,
                   "--select trained: how many seeds each finalist is trained with, from scratch for "
                   "--trial-final-epochs each; the mean of its scores ranks it (N seeds cost N times the final round; "
                   "one trial's top-1 on 3,000 theta-split images has a standard error of about 0.6 points)",
                   Range::between(1, 100))
          .text("trial_metric", &C::trial_metric,
                "--select trained: what ranks the trials: accuracy (top-1 on the theta split) or loss (its "
                "cross-entropy, the lower the better: a smoother score than top-1 on a few thousand images)",
                {"accuracy", "loss"})
          .integer("recalibration_batches", &C::recalibration_batches,
                   "Training batches that re-estimate an arch's BatchNorm statistics before it is scored (0: none)",
                   Range::between(0, 100000))
          .number("w_fraction", &C::w_fraction, "Fraction of the training set for w (the rest trains theta)",
                  Range::open(0, 1))
          .integer("seed", &C::seed, "Seed of every random draw", Range::at_least(0))
          .integer("threads", &C::threads, "Intra-op threads (0: LibTorch's default)", Range::between(0, kMaxThreads))
          .text("precision", &C::precision, "fp32, or bf16 (CUDA autocast; weights stay fp32)", {"fp32", "bf16"})
          .text("train_layout", &C::train_layout,
                "Layout the supernet trains in: nhwc (channels-last, LibTorch's fast depthwise kernels) or nchw "
                "(the table's is --lut-layout)",
                {"nhwc", "nchw"})
          .renamed_from("memory_format")
          .with(add_data_fields<C>)  // image_size, max_samples, the image-folder settings
          .boolean("estimate_missing", &C::estimate_missing, "Fill missing table rows with labelled estimates")
          .integer("checkpoint_every", &C::checkpoint_every, "Steps between mid-epoch checkpoints (0: epoch ends)",
                   Range::at_least(0));
  return fields;
}

double SearchConfig::resolved_lr_theta(int64_t theta_steps) const {
  if (lr_theta > 0) return lr_theta;
  return std::clamp(30.0 / static_cast<double>(std::max<int64_t>(1, theta_steps)), 0.01, 0.3);
}

std::string SearchConfig::resolved_weight_sharing() const {
  if (weight_sharing != "auto") return weight_sharing;
  return mode == "hard" ? "nested" : "separate";
}

double SearchConfig::resolved_warmup() const {
  if (method == "random") return static_cast<double>(epochs);  // theta is never trained
  if (warmup_epochs >= 0) return static_cast<double>(warmup_epochs);
  return warmup_fraction * static_cast<double>(epochs);
}

void SearchConfig::validate() const {
  search_config_fields().validate(*this);
  DNAS_CHECK(method == "random" || warmup_epochs < epochs, "--warmup-epochs: ", warmup_epochs,
             " leaves no epoch to train theta in ", epochs, " epochs");
  DNAS_CHECK(!(noise == "sample" && mode == "hard"), "--noise sample: per-sample noise needs --mode soft");
  DNAS_CHECK(precision == "fp32" || device == "cuda", "--precision ", precision,
             ": mixed precision is for --device cuda (CPU searches run fp32)");
  DNAS_CHECK(latency_constraint == "soft" || has_target(), "--latency-constraint hard: needs --latency-target-ms");
  DNAS_CHECK(latency_target_ms == 0 || latency_target_fraction == 0,
             "--latency-target-ms and --latency-target-fraction: give one of them");
  DNAS_CHECK(method == "dnas" || select == "accuracy", "--select ", select,
             ": --method random draws its archs uniformly, so none is likelier (use --select accuracy)");
  DNAS_CHECK(select != "trained" || trial_images == 0 || trial_images >= batch_size, "--trial-images ", trial_images,
             ": fewer than one batch of --batch-size ", batch_size, " (0: all of the w split)");
  DNAS_CHECK(select != "trained" || trial_finalists != 1, "--trial-finalists 1: a final round of one chooses nothing ",
             "(use 0 for none, or 2 or more)");
  DNAS_CHECK(method == "dnas" || samples >= 1, "--method random: needs --samples >= 1 (the random archs to score)");
  if (!lut_dtype.empty()) check_lut_settings({1, lut_dtype, "nchw"}, "--lut-dtype");  // "": the target's
  if (!lut_layout.empty()) check_lut_settings({1, "fp32", lut_layout}, "--lut-layout");
}

LutSettings resolved_lut_settings(const SearchConfig& config, const TargetSpec& target) {
  LutSettings settings = target.lut_settings;
  if (config.lut_batch > 0) settings.batch = config.lut_batch;
  if (!config.lut_dtype.empty()) settings.dtype = config.lut_dtype;
  if (!config.lut_layout.empty()) settings.memory_format = config.lut_layout;
  return settings;
}

}  // namespace dnas

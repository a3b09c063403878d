#include "search/search_loop.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <tuple>

#include "common/device.h"
#include "common/error.h"
#include "data/batch_loader.h"
#include "data/dataset.h"
#include "latency_lut/latency_table.h"
#include "ops/block_module.h"
#include "search/derivation.h"
#include "search/latency_target.h"
#include "search/schedule.h"
#include "search/search_step.h"
#include "supernet/config_store.h"
#include "supernet/supernet.h"
#include "train/run_dir.h"
#include "train/step_loop.h"

namespace dnas {
namespace {

constexpr int kPhaseW = 0, kPhaseTheta = 1;

// Where a search stands: the next (epoch, phase, step) to run, the running sums of the current
// epoch's phases (theta's extra sum: the expected latency), how many theta batches were drawn so
// far (the interleaved cadence cycles over the theta split), and the dual multiplier. Packed into
// checkpoints in this order; checkpoints written before the last two existed hold the first 13.
struct Progress {
  int64_t epoch = 0, phase = kPhaseW, step = 0, world_size = 1;
  PhaseSums w, theta;
  int64_t theta_batches = 0;
  double lambda = 0;

  static constexpr size_t kOldestCounters = 13;
  template <typename F>
  void fields(F&& f) {
    for (auto* field : {&epoch, &phase, &step, &world_size}) f(*field);
    for (double* field : {&w.loss, &w.correct, &w.seen, &w.steps, &theta.loss, &theta.correct, &theta.seen,
                          &theta.steps, &theta.extra})
      f(*field);
    f(theta_batches);
    f(lambda);
  }
  // The epoch's sums over every rank, for checkpoints and log lines.
  Progress summed_over(const World& world) const {
    Progress total = *this;
    total.w = dnas::summed_over(world, w);
    total.theta = dnas::summed_over(world, theta);
    return total;
  }
  // The start of epoch `e`, keeping what carries over between epochs.
  Progress next_epoch(int64_t e) const {
    Progress next;
    next.epoch = e;
    next.world_size = world_size;
    next.theta_batches = theta_batches;
    next.lambda = lambda;
    return next;
  }
};

// Batches of the theta split for the interleaved cadence: passes over the split one after the
// other, each in its own seeded order, from any position (so a resume draws what an
// uninterrupted run would).
class ThetaBatches {
 public:
  ThetaBatches(const Dataset& data, const std::vector<int64_t>& split, int64_t batch_size, int64_t seed,
               const World& world, int64_t position)
      : data_(data), split_(split), batch_size_(batch_size), seed_(seed), world_(world), position_(position) {
    per_pass_ = batches_per_epoch(static_cast<int64_t>(split.size()), batch_size, world.size());
  }
  int64_t position() const { return position_; }
  // The next batch; advances the position.
  Batch next() {
    const int64_t pass = position_ / per_pass_;
    if (!loader_ || pass != pass_) {
      pass_ = pass;
      loader_ = std::make_unique<BatchLoader>(data_, split_, batch_size_, derive_seed(seed_, -3, kPhaseTheta, pass),
                                              position_ % per_pass_, world_.device(), Shard{world_.rank(), world_.size()},
                                              /*augment=*/true);
    }
    Batch batch;
    DNAS_ASSERT(loader_->next(batch), "theta batches: pass ", pass, " ended early");
    ++position_;
    return batch;
  }

 private:
  const Dataset& data_;
  const std::vector<int64_t>& split_;
  int64_t batch_size_, seed_;
  const World& world_;
  int64_t position_, per_pass_ = 1, pass_ = -1;
  std::unique_ptr<BatchLoader> loader_;
};

// What a search runs on: the data and its w / theta split, the space adapted to the data, and the
// latency of every candidate on the target.
struct SearchInputs {
  Dataset data;
  SearchSpace space;
  std::vector<int64_t> w_split, theta_split;
  TargetSpec target;
  std::string db;
  LutSettings lut;  // the table rows looked up
  ResolvedSpace resolved;
  std::string space_args;  // the space as `dnas profile-latency` would be told it
  SpaceLatency latency;
  std::vector<std::vector<double>> latency_us;  // [layer][candidate]
  LatencyRange reachable;
};

SearchInputs prepare_inputs(const SearchConfig& config, const World& world,
                            const std::function<void(const std::string&)>& message) {
  SearchInputs in;
  in.data = load_dataset(config.data, true, data_options(config));
  if (config.max_samples > 0) in.data = in.data.first(config.max_samples);
  DNAS_CHECK(in.data.height() == in.data.width(), "--data ", config.data, ": expected square images, got ",
             in.data.height(), "x", in.data.width());
  in.space = load_space(config.space);
  in.space.input_size = in.data.height();
  in.space.input_channels = in.data.channels();
  in.space.num_classes = in.data.num_classes;
  std::tie(in.w_split, in.theta_split) =
      split_indices(in.data.size(), config.w_fraction, static_cast<uint64_t>(config.seed));
  const int64_t global_batch = config.batch_size * world.size();
  DNAS_CHECK(static_cast<int64_t>(in.theta_split.size()) >= global_batch, "--data ", config.data, ": the theta split has ",
             in.theta_split.size(), " samples, fewer than one batch of ", global_batch,
             world.distributed() ? " (--batch-size per rank x ranks)" : "");
  DNAS_CHECK(static_cast<int64_t>(in.w_split.size()) >= global_batch, "--data ", config.data,
             ": the w split is smaller than one batch");

  in.target = load_target(config.target);
  in.db = table_for_lookup(in.target, config.db);
  in.lut = resolved_lut_settings(config, in.target);
  const LatencyTable table(in.target, in.db, in.lut, config.estimate_missing);
  in.resolved = resolve_space(in.space, std::nullopt, in.space.name);
  in.space_args = detail::concat(config.space, " --input ", in.space.input_size, " --input-channels ",
                                 in.space.input_channels, " --num-classes ", in.space.num_classes);
  in.latency = table.for_space(in.resolved, in.space_args);
  for (const auto& layer : in.latency.layers) {
    std::vector<double> row;
    for (const LatencyValue& v : layer) row.push_back(v.us);
    in.latency_us.push_back(row);
  }
  in.reachable = reachable_latency(in.latency_us, in.latency.fixed_us());
  if (config.latency_target_ms > 0)
    check_target_reachable(config.latency_target_ms, in.reachable,
                           "space " + in.space.name + " on " + in.target.name +
                               (in.latency.any_estimated ? " (estimated latencies)" : ""));
  const std::string setting = describe_lut_settings(in.lut);
  if (!in.latency.any_estimated)
    message("latency: table " + in.db + ", rows at " + setting);
  else if (in.db.empty())
    message("latency: no table at " + in.target.lut + ", so candidate latencies are roofline ESTIMATES for " +
            in.target.name + " at " + setting);
  else if (table.measured_rows() == 0)
    message("latency: table " + in.db + " has no rows for " + in.target.name +
            ", so candidate latencies are roofline ESTIMATES for " + in.target.name + " at " + setting);
  else
    message("latency: table " + in.db + " at " + setting +
            " is incomplete, so the missing candidate latencies are roofline ESTIMATES");
  return in;
}

// How many theta steps train theta over the run (after the warm-up), for the automatic rate.
int64_t theta_steps_after_warmup(const SearchConfig& config, const SearchInputs& in, const World& world) {
  const int64_t w_steps = batches_per_epoch(static_cast<int64_t>(in.w_split.size()), config.batch_size, world.size());
  const int64_t per_epoch =
      config.theta_every > 0 ? w_steps / config.theta_every
                             : batches_per_epoch(static_cast<int64_t>(in.theta_split.size()), config.batch_size, world.size());
  const double epochs = std::max(0.0, static_cast<double>(config.epochs) - config.resolved_warmup());
  return static_cast<int64_t>(static_cast<double>(per_epoch) * epochs);
}

// Per layer, the table latencies of its candidates, on the device, once for the whole run.
std::vector<at::Tensor> latency_tensors(const std::vector<std::vector<double>>& latency_us, const c10::Device& device) {
  std::vector<at::Tensor> out;
  for (const std::vector<double>& row : latency_us)
    out.push_back(at::tensor(row, at::TensorOptions().dtype(at::kFloat).device(device)));
  return out;
}

StepSettings step_settings(const SearchConfig& config) {
  StepSettings s;
  const bool random = config.method == "random";  // one uniform path per step
  s.mode = config.mode == "hard" || random ? SampleMode::kHard : SampleMode::kSoft;
  s.scope = config.noise == "sample" ? NoiseScope::kPerSample : NoiseScope::kPerBatch;
  s.w_paths = random || config.w_sampling == "uniform" ? PathSampling::kUniform
              : config.w_sampling == "bi"               ? PathSampling::kBi
                                                        : PathSampling::kGumbel;
  s.theta_estimator = config.theta_estimator == "reinforce" ? ThetaEstimator::kReinforce : ThetaEstimator::kGumbel;
  s.reinforce_paths = config.reinforce_paths;
  s.alpha = config.alpha;
  s.beta = config.beta;
  s.latency_penalty = config.latency_penalty;
  s.latency_target_us = config.latency_target_ms * 1000.0;
  s.target_loss = !config.has_target()                ? TargetLoss::kNone
                  : config.target_loss == "dual"      ? TargetLoss::kDual
                  : config.target_loss == "absolute"  ? TargetLoss::kAbsolute
                                                      : TargetLoss::kHinge;
  s.channels_last = channels_last_format(config.train_layout, "--train-layout");
  s.autocast_bf16 = config.precision == "bf16";
  return s;
}

void log_epoch(const RunDir& run, const World& world, const EpochRecord& r, const SearchInputs& in, Supernet& net) {
  Json line = {{"epoch", r.epoch}, {"w_loss", r.w_loss}, {"w_accuracy", r.w_accuracy},
               {"theta_loss", r.theta_loss}, {"theta_accuracy", r.theta_accuracy},
               {"theta_trained", r.theta_trained}, {"expected_latency_ms", r.expected_latency_ms},
               {"latency_estimated", in.latency.any_estimated}, {"temperature", r.temperature},
               {"theta_entropy", r.theta_entropy}, {"lr_w", r.lr_w}, {"seconds", r.seconds},
               {"argmax_latency_ms", r.argmax_latency_ms}, {"lambda", r.lambda}};
  if (world.distributed()) line["ranks"] = world.size(), line["rank_divergence"] = r.rank_divergence;
  run.append("log.jsonl", line);
  Json candidates = Json::array();
  for (const auto& layer : in.resolved.layers) {
    Json keys = Json::array();
    for (const CandidateCost& c : layer.candidates) keys.push_back(c.op);
    candidates.push_back(keys);
  }
  run.append("theta.jsonl", {{"epoch", r.epoch}, {"temperature", r.temperature}, {"theta", net->theta_values()},
                             {"probabilities", net->probabilities()}, {"candidates", candidates}});
}

// Rank 0 chooses the result among the candidates and writes arch.json and candidates.json.
void derive_result(const SearchConfig& config, const SearchInputs& in, Supernet& net, bool channels_last,
                   const World& world, const RunDir& run, SearchResult& result,
                   const std::function<void(const std::string&)>& message) {
  if (!world.is_main()) return;
  const DerivationInputs inputs{in.data, in.w_split, in.theta_split, in.latency_us, in.latency.fixed_us(), &in.space};
  result.candidates = derive_architecture(
      config, net, inputs, channels_last,
      [&](const Candidate& c) {
        message("candidate " + c.name + ": " + std::to_string(c.latency_us / 1000.0).substr(0, 6) + " ms, " +
                std::to_string(100 * c.accuracy).substr(0, 5) + "% on the theta split" +
                (c.within_target ? ""
                                 : std::string(" (") + off_target(c, config.latency_target_ms * 1000) + " the target)"));
      },
      [&](const Candidate& c) {
        const bool final_round = c.final_trial_accuracy >= 0;
        const bool averaged = final_round && config.trial_final_seeds > 1;  // the score is a mean, the seconds a sum
        message(std::string(final_round ? "final trial " : "trial ") + c.name + ": " +
                std::to_string(100 * (final_round ? c.final_trial_accuracy : c.trial_accuracy)).substr(0, 5) +
                "% on the theta split (loss " +
                std::to_string(final_round ? c.final_trial_loss : c.trial_loss).substr(0, 5) + ") after " +
                std::to_string(final_round ? config.final_trial_epochs() : config.trial_epochs) +
                " epoch(s) from scratch (" +
                (averaged ? "mean of " + std::to_string(config.trial_final_seeds) + " seeds; " : std::string()) +
                std::to_string(final_round ? c.final_trial_seconds : c.trial_seconds).substr(0, 4) + " s" +
                (averaged ? " in all" : "") + ")");
      });
  const Candidate& chosen =
      *std::find_if(result.candidates.begin(), result.candidates.end(), [](const Candidate& c) { return c.selected; });
  result.choices = chosen.ops;
  result.derived_accuracy = chosen.accuracy;
  result.latency_target_ms = config.latency_target_ms;
  result.target_met = chosen.within_target;

  ArchSpec arch = in.space.derive(result.choices);
  arch.name = in.space.name + "_searched";
  const LatencyTable table(in.target, in.db, in.lut, config.estimate_missing);
  const ArchLatency arch_latency = table.for_arch(resolve_arch(arch), in.space_args);
  result.predicted_latency_ms = arch_latency.total_us() / 1000.0;
  result.latency_estimated = arch_latency.any_estimated;
  Json layer_latency = Json::array();
  for (const LatencyValue& v : arch_latency.layers) layer_latency.push_back(v.us);
  Json candidates = Json::array();
  for (const Candidate& c : result.candidates) candidates.push_back(candidate_to_json(c));
  arch.origin = {{"space", in.space.name}, {"target", in.target.name}, {"db", in.db}, {"data", config.data},
                 {"method", config.method}, {"selected", chosen.name}, {"choices", result.choices},
                 {"theta", net->theta_values()}, {"probabilities", net->probabilities()},
                 {"predicted_latency_ms", result.predicted_latency_ms}, {"latency_estimated", result.latency_estimated},
                 {"layer_latency_us", layer_latency}, {"accuracy_theta_split", result.derived_accuracy},
                 {"sampled_accuracy_theta_split", result.theta_accuracy}, {"epochs", config.epochs},
                 {"seed", config.seed}, {"mode", config.mode}, {"weight_sharing", config.resolved_weight_sharing()},
                 {"lut_settings", {{"batch", in.lut.batch}, {"dtype", in.lut.dtype}, {"layout", in.lut.memory_format}}}};
  if (config.has_target()) {
    arch.origin["latency_target_ms"] = config.latency_target_ms;
    arch.origin["latency_target_met"] = result.target_met;
  }
  run.write("arch.json", arch_to_json(arch).dump(2) + "\n");
  run.write("candidates.json",
            Json{{"latency_target_ms", config.has_target() ? Json(config.latency_target_ms) : Json(nullptr)},
                 {"latency_tolerance", config.latency_tolerance},
                 {"reachable_ms", {in.reachable.min_us / 1000.0, in.reachable.max_us / 1000.0}},
                 {"sampled_accuracy_theta_split", result.theta_accuracy},
                 {"final_trial_epochs", config.has_final_round() ? Json(config.final_trial_epochs()) : Json(nullptr)},
                 {"final_trial_seeds", config.has_final_round() ? Json(config.trial_final_seeds) : Json(nullptr)},
                 {"candidates", candidates}}
                    .dump(2) + "\n");
}

}  // namespace

SearchResult run_search(const SearchConfig& config, bool resume, const std::atomic<bool>* interrupt,
                        const SearchCallbacks& callbacks) {
  config.validate();
  check_device(config.device, "fp32", "--device");
  return run_search(config, resume, interrupt, callbacks, World::join(LaunchInfo{}, config.device));
}

SearchResult run_search(const SearchConfig& requested, bool resume, const std::atomic<bool>* interrupt,
                        const SearchCallbacks& callbacks, const World& world) {
  auto message = [&](const std::string& text) {
    if (callbacks.on_message) callbacks.on_message(text);
  };
  requested.validate();
  check_device(requested.device, "fp32", "--device");
  DNAS_ASSERT(world.device().is_cuda() == (requested.device == "cuda"), "run_search: the World's device ",
              world.device().str(), " is not the configured --device ", requested.device);
  world.check_same("the search configuration", config_to_json(requested).dump());
  const RunDir run(requested.out, "search", {"log.jsonl", "theta.jsonl"}, world);
  run.check(resume, search_config_fields(), requested);
  if (requested.threads > 0) at::set_num_threads(static_cast<int>(requested.threads));
  const torch::Device device = world.device();
  const SearchInputs in = prepare_inputs(requested, world, message);
  // A target given as a fraction of the reachable range, in ms from here on.
  SearchConfig config = requested;
  if (config.latency_target_fraction > 0) {
    config.latency_target_ms =
        (in.reachable.min_us + config.latency_target_fraction * (in.reachable.max_us - in.reachable.min_us)) / 1000.0;
    config.latency_target_fraction = 0;
    message(detail::concat("latency target: ", config.latency_target_ms, " ms (", requested.latency_target_fraction,
                           " of the ", in.reachable.min_us / 1000, " - ", in.reachable.max_us / 1000,
                           " ms this space reaches on ", in.target.name, ")"));
  }

  torch::manual_seed(static_cast<uint64_t>(config.seed));
  const bool nested = config.resolved_weight_sharing() == "nested";
  Supernet net(in.space, std::nullopt, nested ? WeightSharing::kNested : WeightSharing::kSeparate);
  net->to(device);
  if (nested) message("weight sharing: nested (each layer's candidates are slices of one set of conv weights)");
  torch::optim::SGD w_opt(net->weight_parameters(),
                          torch::optim::SGDOptions(config.lr_w).momentum(config.momentum).weight_decay(config.weight_decay));
  torch::optim::Adam theta_opt(net->theta_parameters(),
                               torch::optim::AdamOptions(0.01).weight_decay(config.theta_weight_decay));  // rate per step
  const CheckpointParts parts{{{"supernet", net.get()}}, {{"w_optimizer", &w_opt}, {"theta_optimizer", &theta_opt}}};
  if (!resume) run.create(config_to_json(requested));
  const DiscardUnsavedOnError discard_on_error(run);

  Progress progress;
  if (resume) {
    progress = unpack_fields<Progress>(run.load_checkpoint(parts), run.checkpoint_path(), Progress::kOldestCounters);
    DNAS_CHECK(static_cast<int>(progress.world_size) == world.size(), run.checkpoint_path(), ": written by ",
               progress.world_size, " rank(s), resumed with ", world.size(),
               "; the global batch would change, so resume with the same number of ranks");
    run.truncate_logs(progress.epoch);
    if (!world.is_main()) progress.w = progress.theta = PhaseSums{};  // rank 0 carries the sums over all ranks
    message("resuming at epoch " + std::to_string(progress.epoch) + (progress.phase == kPhaseW ? " (w" : " (theta") +
            " step " + std::to_string(progress.step) + ")");
  }
  progress.world_size = world.size();
  // The dual multiplier lives on the device during the run; checkpoints and log lines read it.
  at::Tensor lambda = at::full({}, progress.lambda, at::TensorOptions().dtype(at::kFloat).device(device));
  auto save = [&](Progress p) {
    p.lambda = lambda.item<double>();
    run.save_checkpoint(parts, pack_fields(p.summed_over(world)));
  };

  const StepSettings settings = step_settings(config);
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);  // fixed shapes: let cuDNN pick
  if (settings.channels_last) use_channels_last(*net);
  SearchStepper stepper(net, latency_tensors(in.latency_us, device), in.latency.fixed_us(), settings, world);
  const double target_us = config.latency_target_ms * 1000.0;
  const bool dual = settings.target_loss == TargetLoss::kDual;
  const double lr_theta = config.resolved_lr_theta(theta_steps_after_warmup(config, in, world));
  // Theta's rate decays with the run as w's does (cosine, unless --lr-theta-schedule constant), so the
  // architecture settles at the end.
  auto theta_step = [&](const Batch& batch, double tau, int64_t epoch, int64_t step, int64_t steps) {
    for (auto& group : theta_opt.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options())
          .lr(config.lr_theta_schedule == "constant"
                  ? lr_theta
                  : scheduled_learning_rate(lr_theta, "cosine", 0, config.epochs, epoch, step, steps));
    const StepOutput out = stepper.theta_step(batch.images, batch.labels, tau, theta_opt, lambda);
    if (dual) {  // lambda follows the table latency of the arch the search would hand back now
      at::NoGradGuard no_grad;
      lambda = (lambda + config.dual_lr * (stepper.argmax_latency_us() / target_us - 1.0))
                   .clamp(-config.dual_max, config.dual_max);
    }
    return out;
  };
  StepLoop loop{world, run};
  // Reads of the loss: every step on the CPU (a read costs nothing there), every 10th on a GPU so
  // the host keeps queueing work.
  loop.sync_every = device.is_cuda() ? 10 : 1;
  loop.checkpoint_every = config.checkpoint_every;
  loop.interrupt = interrupt;
  loop.nan_advice = "Lower --lr-w / --lr-theta";

  SearchResult result;
  result.run_dir = config.out;
  for (; progress.epoch < config.epochs; progress = progress.next_epoch(progress.epoch + 1)) {
    const auto epoch_start = std::chrono::steady_clock::now();
    const int64_t epoch = progress.epoch;
    double lr = config.lr_w, tau = config.tau0;
    bool theta_trained = false;

    if (config.theta_every > 0) {
      // Interleaved: a theta step (or, during the warm-up, a scored theta batch) after every
      // theta_every-th w step.
      stepper.begin_phase(true);
      BatchLoader loader(in.data, in.w_split, config.batch_size, derive_seed(config.seed, epoch, kPhaseW, -1),
                         progress.step, device, Shard{world.rank(), world.size()}, /*augment=*/true);
      ThetaBatches theta_batches(in.data, in.theta_split, config.batch_size, config.seed, world, progress.theta_batches);
      DeviceSums theta_pending(device);
      const int64_t steps = loader.batches();
      auto step = [&](const Batch& batch, int64_t s) {
        torch::manual_seed(derive_seed(config.seed, epoch, kPhaseW, s));
        tau = temperature(config, epoch, s, steps);
        lr = scheduled_learning_rate(config.lr_w, "cosine", 0, config.epochs, epoch, s, steps);
        set_sgd_learning_rate(w_opt, lr);
        const StepOutput w = stepper.w_step(batch.images, batch.labels, tau, w_opt);
        if (theta_step_due(config, s)) {
          const Batch theta_batch = theta_batches.next();
          torch::manual_seed(derive_seed(config.seed, epoch, kPhaseTheta, s));
          const bool trains = theta_trains(config, epoch, s, steps);
          stepper.begin_phase(false);
          const StepOutput t = trains ? theta_step(theta_batch, tau, epoch, s, steps)
                                      : stepper.observe(theta_batch.images, theta_batch.labels, tau);
          stepper.begin_phase(true);
          theta_pending.add({t.loss, t.correct, t.latency_us}, theta_batch.labels.size(0));
          theta_trained = theta_trained || trains;
        }
        return StepResult{w.loss, w.correct, {}};
      };
      auto on_read = [&](int64_t s, double loss) {
        const int64_t first = s - theta_pending.steps();
        if (theta_pending.steps() > 0)
          check_finite_loss(loop, theta_pending.drain(progress.theta), epoch, "theta", first, s - 1);
        progress.theta_batches = theta_batches.position();
        if (callbacks.on_step) callbacks.on_step({"w", epoch, s, steps, loss});
      };
      loop.phase = "w";
      if (!run_steps(loop, epoch, loader, progress.step, steps, progress.w, step, on_read, [&] { save(progress); })) {
        result.interrupted = true;
        return result;
      }
    } else {
      // The paper's alternation: an epoch of w steps on the w split, then of theta steps on the
      // theta split (scored only, during the warm-up).
      const bool train_theta = theta_trains(config, epoch, 0, 1);
      theta_trained = train_theta;
      for (int64_t phase = progress.phase; phase <= kPhaseTheta; ++phase, progress.phase = phase, progress.step = 0) {
        const bool w_phase = phase == kPhaseW;
        stepper.begin_phase(w_phase);
        BatchLoader loader(in.data, w_phase ? in.w_split : in.theta_split, config.batch_size,
                           derive_seed(config.seed, epoch, phase, -1), progress.step, device,
                           Shard{world.rank(), world.size()}, /*augment=*/true);
        const int64_t steps = loader.batches();
        tau = temperature(config, epoch, 0, steps);
        auto step = [&](const Batch& batch, int64_t s) {
          torch::manual_seed(derive_seed(config.seed, epoch, phase, s));
          StepOutput out;
          if (w_phase) {
            lr = scheduled_learning_rate(config.lr_w, "cosine", 0, config.epochs, epoch, s, steps);
            set_sgd_learning_rate(w_opt, lr);
            out = stepper.w_step(batch.images, batch.labels, tau, w_opt);
          } else if (train_theta) {
            out = theta_step(batch, tau, epoch, s, steps);
          } else {
            out = stepper.observe(batch.images, batch.labels, tau);  // warm-up: theta frozen, still scored
          }
          return StepResult{out.loss, out.correct, w_phase ? at::Tensor() : out.latency_us};
        };
        auto on_read = [&](int64_t s, double loss) {
          if (callbacks.on_step) callbacks.on_step({w_phase ? "w" : "theta", epoch, s, steps, loss});
        };
        loop.phase = w_phase ? "w" : "theta";
        if (!run_steps(loop, epoch, loader, progress.step, steps, w_phase ? progress.w : progress.theta, step, on_read,
                       [&] { save(progress); })) {
          result.interrupted = true;
          return result;
        }
      }
    }

    progress.lambda = lambda.item<double>();
    const Progress total = progress.summed_over(world);
    EpochRecord record;
    record.epoch = epoch;
    record.w_loss = total.w.mean_loss();
    record.w_accuracy = total.w.accuracy();
    record.theta_loss = total.theta.mean_loss();
    record.theta_accuracy = total.theta.accuracy();
    record.theta_trained = theta_trained;
    record.expected_latency_ms = total.theta.mean_extra() / 1000.0;
    record.argmax_latency_ms = stepper.argmax_latency_us().item<double>() / 1000.0;
    record.lambda = progress.lambda;
    record.temperature = tau;
    record.theta_entropy = net->mean_entropy();
    record.lr_w = lr;
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    // All ranks trained the same architecture samples on averaged gradients, so they must agree.
    record.rank_divergence = world.divergence(net->parameters());
    log_epoch(run, world, record, in, net);
    save(progress.next_epoch(epoch + 1));
    result.epochs.push_back(record);
    if (callbacks.on_epoch) callbacks.on_epoch(record);
  }
  if (!result.epochs.empty()) result.theta_accuracy = result.epochs.back().theta_accuracy;
  derive_result(config, in, net, settings.channels_last, world, run, result, message);
  const std::vector<std::string> skipped = skipped_images(in.data);
  if (!skipped.empty())
    message(detail::concat("skipped ", skipped.size(), " bad image(s) (--skip-bad-images), first: ", skipped.front()));
  return result;
}

}  // namespace dnas

#include "search/search_loop.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/serialize.h>
#include <torch/serialize/archive.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "latency_lut/latency_table.h"
#include "latency_lut/lut_store.h"
#include "latency_lut/timing.h"
#include "common/device.h"
#include "common/error.h"
#include "common/file_io.h"
#include "ops/block_module.h"
#include "data/batch_loader.h"
#include "data/dataset.h"
#include "train/checkpoint.h"
#include "search/search_step.h"
#include "common/config_reader.h"
#include "supernet/config_store.h"
#include "supernet/supernet.h"

namespace dnas {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kPhaseW = 0, kPhaseTheta = 1;

// Where a search stands: the next (epoch, phase, step) to run, and the running sums of the
// current epoch so its log line is the same whether or not it was interrupted.
struct Progress {
  int64_t epoch = 0, phase = kPhaseW, step = 0, world_size = 1;
  double w_loss = 0, w_correct = 0, w_seen = 0, w_steps = 0;
  double theta_loss = 0, theta_correct = 0, theta_seen = 0, theta_steps = 0, latency_us = 0;

  template <typename F>
  void fields(F&& f) {
    for (auto* field : {&epoch, &phase, &step, &world_size}) f(*field);
    for (double* field : sums()) f(*field);
  }
  void start_epoch(int64_t e) {
    const int64_t ranks = world_size;
    *this = Progress{};
    epoch = e;
    world_size = ranks;
  }

  // The epoch's running sums. Each rank accumulates its own shard; checkpoints and log lines hold
  // the sums over all ranks.
  std::vector<double*> sums() {
    return {&w_loss, &w_correct, &w_seen, &w_steps, &theta_loss, &theta_correct, &theta_seen, &theta_steps, &latency_us};
  }
  Progress summed_over(const World& world) const {
    Progress total = *this;
    std::vector<double> values;
    for (double* v : total.sums()) values.push_back(*v);
    values = world.sum(values);
    size_t i = 0;
    for (double* v : total.sums()) *v = values[i++];
    return total;
  }
};

struct RunPaths {
  fs::path dir;
  std::string config() const { return (dir / "config.json").string(); }
  std::string log() const { return (dir / "log.jsonl").string(); }
  std::string theta() const { return (dir / "theta.jsonl").string(); }
  std::string checkpoint() const { return (dir / "checkpoint.pt").string(); }
  std::string arch() const { return (dir / "arch.json").string(); }
};

CheckpointParts checkpoint_parts(Supernet& net, torch::optim::SGD& w_opt, torch::optim::Adam& theta_opt) {
  return {{{"supernet", net.get()}}, {{"w_optimizer", &w_opt}, {"theta_optimizer", &theta_opt}}};
}

// Per-step results accumulated on the device until the loop reads them.
struct PendingSums {
  explicit PendingSums(const torch::Device& device)
      : loss(at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device))), correct(at::zeros_like(loss)),
        latency(at::zeros_like(loss)) {}
  void add(const StepOutput& out, int64_t batch, bool with_latency) {
    loss.add_(out.loss);
    correct.add_(out.correct);
    if (with_latency) latency.add_(out.latency_us);
    seen += batch;
    ++steps;
  }
  // Moves the sums into `progress` (one host sync); returns the mean loss of the steps read.
  double add_to(Progress& progress, bool w_phase) {
    const at::Tensor values = at::stack({loss, correct, latency}).cpu();
    const double* v = values.data_ptr<double>();
    if (w_phase) {
      progress.w_loss += v[0], progress.w_correct += v[1], progress.w_seen += static_cast<double>(seen);
      progress.w_steps += static_cast<double>(steps);
    } else {
      progress.theta_loss += v[0], progress.theta_correct += v[1], progress.theta_seen += static_cast<double>(seen);
      progress.theta_steps += static_cast<double>(steps);
      progress.latency_us += v[2];
    }
    const double mean = v[0] / static_cast<double>(steps);
    loss.zero_(), correct.zero_(), latency.zero_();
    seen = steps = 0;
    return mean;
  }
  at::Tensor loss, correct, latency;
  int64_t seen = 0, steps = 0;
};

double temperature(const SearchConfig& c, int64_t epoch) {
  if (c.schedule == "linear")
    return c.epochs <= 1 ? c.tau0 : c.tau0 + (c.tau_min - c.tau0) * static_cast<double>(epoch) / (c.epochs - 1);
  return c.tau0 * std::pow(c.tau_decay, static_cast<double>(epoch));
}

}  // namespace

SearchResult run_search(const SearchConfig& config, bool resume, const std::atomic<bool>* interrupt,
                        const SearchCallbacks& callbacks) {
  check_device(config.device, "fp32", "--device");
  return run_search(config, resume, interrupt, callbacks, World::join(LaunchInfo{}, config.device));
}

SearchResult run_search(const SearchConfig& config, bool resume, const std::atomic<bool>* interrupt,
                        const SearchCallbacks& callbacks, const World& world) {
  auto message = [&](const std::string& text) {
    if (callbacks.on_message) callbacks.on_message(text);
  };
  config.validate();
  check_device(config.device, "fp32", "--device");
  DNAS_ASSERT(world.device().is_cuda() == (config.device == "cuda"), "run_search: the World's device ",
              world.device().str(), " is not the configured --device ", config.device);
  world.check_same("the search configuration", config_to_json(config).dump());
  RunPaths paths{fs::path(config.out)};
  std::error_code ec;
  // Rank 0 alone checks and writes the run directory; the others read the same checkpoint.
  world.on_main([&] {
    if (resume) {
      DNAS_CHECK(fs::exists(paths.config(), ec) && fs::exists(paths.checkpoint(), ec), config.out,
                 ": no search to resume here (expected config.json and checkpoint.pt)");
      const SearchConfig saved = config_from_json(parse_json_text(read_text_file(paths.config()), paths.config()), paths.config());
      const std::vector<std::string> changed = config_differences(saved, config);
      if (!changed.empty()) {
        std::string list;
        for (const std::string& c : changed) list += (list.empty() ? "" : "; ") + c;
        throw Error("--resume: the configuration differs from " + paths.config() + " (" + list +
                    "); resume continues the same search, so start a new --out to change it");
      }
    } else {
      DNAS_CHECK(!fs::exists(paths.config(), ec), config.out,
                 ": already holds a search (config.json); use --resume to continue it, or another --out");
    }
  });

  if (config.threads > 0) at::set_num_threads(static_cast<int>(config.threads));
  const torch::Device device = world.device();

  // Data, then the space adapted to it.
  Dataset data = load_dataset(config.data, true, config.image_size);
  if (config.max_samples > 0 && config.max_samples < data.size()) {
    data.images = data.images.slice(0, 0, config.max_samples);
    data.labels = data.labels.slice(0, 0, config.max_samples);
  }
  DNAS_CHECK(data.height() == data.width(), "--data ", config.data, ": expected square images, got ", data.height(),
             "x", data.width());
  SearchSpace space = load_space(config.space);
  space.input_size = data.height();
  space.input_channels = data.channels();
  space.num_classes = data.num_classes;
  const auto [w_split, theta_split] = split_indices(data.size(), config.w_fraction, static_cast<uint64_t>(config.seed));
  const int64_t global_batch = config.batch_size * world.size();
  DNAS_CHECK(static_cast<int64_t>(theta_split.size()) >= global_batch, "--data ", config.data, ": the theta split has ",
             theta_split.size(), " samples, fewer than one batch of ", global_batch,
             world.distributed() ? " (--batch-size per rank x ranks)" : "");

  // Latency of every candidate on the target.
  const TargetSpec target = load_target(config.target);
  const std::string db = table_for_lookup(target, config.db);
  const LatencyTable table(target, db, {}, config.estimate_missing);
  const ResolvedSpace resolved = resolve_space(space, std::nullopt, space.name);
  const std::string space_args = detail::concat(config.space, " --input ", space.input_size, " --input-channels ",
                                                space.input_channels, " --num-classes ", space.num_classes);
  const SpaceLatency latency = table.for_space(resolved, space_args);
  std::vector<std::vector<double>> latency_rows;
  for (const auto& layer : latency.layers) {
    std::vector<double> row;
    for (const LatencyValue& v : layer) row.push_back(v.us);
    latency_rows.push_back(row);
  }
  if (latency.any_estimated)
    message("latency: " + std::string(db.empty() ? "no table at " + target.lut : "table " + db + " is incomplete") +
            ", so candidate latencies are roofline ESTIMATES for " + target.name);

  torch::manual_seed(static_cast<uint64_t>(config.seed));
  Supernet net(space);
  net->to(device);
  std::vector<torch::Tensor> latency_us;  // per layer, on the device, once for the whole run
  for (const std::vector<double>& row : latency_rows)
    latency_us.push_back(at::tensor(row, at::TensorOptions().dtype(at::kFloat).device(device)));
  torch::optim::SGD w_opt(net->weight_parameters(),
                          torch::optim::SGDOptions(config.lr_w).momentum(config.momentum).weight_decay(config.weight_decay));
  torch::optim::Adam theta_opt(net->theta_parameters(),
                               torch::optim::AdamOptions(config.lr_theta).weight_decay(config.theta_weight_decay));

  Progress progress;
  world.on_main([&] {
    fs::create_directories(paths.dir, ec);
    DNAS_CHECK(!ec, config.out, ": cannot create the run directory (", ec.message(), ")");
    if (!resume) {
      write_text_file_atomic(paths.config(), config_to_json(config).dump(2) + "\n");
      write_text_file_atomic(paths.log(), "");
      write_text_file_atomic(paths.theta(), "");
    }
  });
  if (resume) {
    progress = unpack_fields<Progress>(load_checkpoint(paths.checkpoint(), checkpoint_parts(net, w_opt, theta_opt)),
                                       paths.checkpoint());
    DNAS_CHECK(static_cast<int>(progress.world_size) == world.size(), paths.checkpoint(), ": written by ",
               progress.world_size, " rank(s), resumed with ", world.size(),
               "; the global batch would change, so resume with the same number of ranks");
    if (world.is_main()) {
      truncate_jsonl(paths.log(), progress.epoch);
      truncate_jsonl(paths.theta(), progress.epoch);
    } else {
      for (double* v : progress.sums()) *v = 0;  // rank 0 carries the checkpoint's sums over all ranks
    }
    message("resuming at epoch " + std::to_string(progress.epoch) + (progress.phase == kPhaseW ? " (w" : " (theta") +
            " step " + std::to_string(progress.step) + ")");
  }
  progress.world_size = world.size();
  auto save = [&](const Progress& p) {
    if (world.is_main()) save_checkpoint(paths.checkpoint(), checkpoint_parts(net, w_opt, theta_opt), pack_fields(p));
  };

  const int64_t warmup = config.resolved_warmup();
  StepSettings settings;
  settings.mode = config.mode == "hard" ? SampleMode::kHard : SampleMode::kSoft;
  settings.scope = config.noise == "sample" ? NoiseScope::kPerSample : NoiseScope::kPerBatch;
  settings.alpha = config.alpha;
  settings.beta = config.beta;
  settings.latency_penalty = config.latency_penalty;
  settings.latency_target_us = config.latency_target_ms * 1000.0;
  settings.channels_last = channels_last_format(config.memory_format);
  settings.autocast_bf16 = config.precision == "bf16";
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);  // fixed shapes: let cuDNN pick
  if (settings.channels_last) use_channels_last(*net);
  SearchStepper stepper(net, latency_us, latency.fixed_us(), settings, world);
  const int64_t w_steps = static_cast<int64_t>(w_split.size()) / global_batch;
  DNAS_CHECK(w_steps >= 1, "--data ", config.data, ": the w split is smaller than one batch");
  // Steps between reads of the loss: every step on the CPU (a read costs nothing there), every
  // 10th on a GPU so the host keeps queueing work. The read also checks for a non-finite loss.
  const int64_t sync_every = device.is_cuda() ? 10 : 1;

  SearchResult result;
  result.run_dir = config.out;
  auto stop_requested = [&] { return interrupt != nullptr && interrupt->load(); };

  for (; progress.epoch < config.epochs; progress.start_epoch(progress.epoch + 1)) {
    const auto epoch_start = std::chrono::steady_clock::now();
    const int64_t epoch = progress.epoch;
    const double tau = temperature(config, epoch);
    const bool train_theta = epoch >= warmup;
    double lr = config.lr_w;

    for (int64_t phase = progress.phase; phase <= kPhaseTheta; ++phase, progress.phase = phase, progress.step = 0) {
      const bool w_phase = phase == kPhaseW;
      stepper.begin_phase(w_phase);
      BatchLoader loader(data, w_phase ? w_split : theta_split, config.batch_size,
                         derive_seed(config.seed, epoch, phase, -1), progress.step, device,
                         Shard{world.rank(), world.size()});
      const int64_t steps = loader.batches();
      Batch batch;
      // Loss, hits and latency stay on the device between reads (one host sync per read).
      PendingSums pending(device);
      auto read_pending = [&] {
        const int64_t first = progress.step - pending.steps;
        if (pending.steps == 0) return 0.0;
        const double mean_loss = pending.add_to(progress, w_phase);
        if (!std::isfinite(mean_loss)) {
          std::error_code exists_ec;
          const bool saved = fs::exists(paths.checkpoint(), exists_ec);
          throw Error(detail::concat("loss is ", mean_loss, " at epoch ", epoch, " (", w_phase ? "w" : "theta",
                                     " steps ", first, "-", progress.step - 1, "); stopped without saving. ",
                                     saved ? "The last good checkpoint is " + paths.checkpoint()
                                           : std::string("No checkpoint was written yet"),
                                     ". Lower --lr-w / --lr-theta and start a new --out"));
        }
        return mean_loss;
      };
      while (progress.step < steps && loader.next(batch)) {
        const int64_t step = progress.step;
        torch::manual_seed(derive_seed(config.seed, epoch, phase, step));
        StepOutput out;
        if (w_phase) {
          const double t = static_cast<double>(epoch * w_steps + step) / static_cast<double>(config.epochs * w_steps);
          lr = config.lr_w * 0.5 * (1.0 + std::cos(M_PI * t));
          for (auto& group : w_opt.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
          out = stepper.w_step(batch.images, batch.labels, tau, w_opt);
        } else if (train_theta) {
          out = stepper.theta_step(batch.images, batch.labels, tau, theta_opt);
        } else {
          out = stepper.observe(batch.images, batch.labels, tau);  // warm-up: theta frozen, still scored
        }
        pending.add(out, batch.labels.size(0), /*latency=*/!w_phase);
        ++progress.step;
        const bool periodic = config.checkpoint_every > 0 && progress.step % config.checkpoint_every == 0;
        if (progress.step % sync_every != 0 && progress.step != steps && !periodic) continue;
        const double loss_value = read_pending();
        if (callbacks.on_step) callbacks.on_step({w_phase ? "w" : "theta", epoch, progress.step, steps, loss_value});
        const bool stop = world.any(stop_requested());  // an interrupt seen by any rank stops them all
        if (stop || periodic) save(progress.summed_over(world));
        if (stop) {
          result.interrupted = true;
          return result;
        }
      }
    }

    const Progress local = progress;
    progress = local.summed_over(world);
    // All ranks trained the same architecture samples on averaged gradients, so they must agree.
    const double divergence = world.divergence(net->parameters());
    EpochRecord record;
    record.epoch = epoch;
    record.w_loss = progress.w_loss / std::max(1.0, progress.w_steps);
    record.w_accuracy = progress.w_correct / std::max(1.0, progress.w_seen);
    record.theta_loss = progress.theta_loss / std::max(1.0, progress.theta_steps);
    record.theta_accuracy = progress.theta_correct / std::max(1.0, progress.theta_seen);
    record.theta_trained = train_theta;
    record.expected_latency_ms = progress.latency_us / std::max(1.0, progress.theta_steps) / 1000.0;
    record.temperature = tau;
    record.theta_entropy = net->mean_entropy();
    record.lr_w = lr;
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    record.rank_divergence = divergence;
    if (world.is_main()) {
      json line = {{"epoch", epoch}, {"w_loss", record.w_loss}, {"w_accuracy", record.w_accuracy},
                   {"theta_loss", record.theta_loss}, {"theta_accuracy", record.theta_accuracy},
                   {"theta_trained", train_theta}, {"expected_latency_ms", record.expected_latency_ms},
                   {"latency_estimated", latency.any_estimated}, {"temperature", tau},
                   {"theta_entropy", record.theta_entropy}, {"lr_w", lr}, {"seconds", record.seconds}};
      if (world.distributed()) line["ranks"] = world.size(), line["rank_divergence"] = divergence;
      append_jsonl(paths.log(), line);
      json candidates = json::array();
      for (const auto& layer : resolved.layers) {
        json keys = json::array();
        for (const CandidateCost& c : layer.candidates) keys.push_back(c.op);
        candidates.push_back(keys);
      }
      append_jsonl(paths.theta(), {{"epoch", epoch}, {"temperature", tau}, {"theta", net->theta_values()},
                                  {"probabilities", net->probabilities()}, {"candidates", candidates}});
    }
    Progress next;
    next.epoch = epoch + 1;
    next.world_size = world.size();
    save(next);
    result.epochs.push_back(record);
    if (callbacks.on_epoch) callbacks.on_epoch(record);
  }

  // The derived architecture: argmax of theta per layer, with its predicted latency.
  result.choices = net->argmax_choices();
  if (!world.is_main()) return result;  // rank 0 scores it and writes arch.json and the report
  const ArchSpec arch_spec = [&] {
    ArchSpec a = space.derive(result.choices);
    a.name = space.name + "_searched";
    return a;
  }();
  const ArchLatency arch_latency = table.for_arch(resolve_arch(arch_spec), space_args);
  result.predicted_latency_ms = arch_latency.total_us() / 1000.0;
  result.latency_estimated = arch_latency.any_estimated;
  {
    // Batch statistics, not running ones: the running statistics of the head were gathered on the
    // mixture of all candidates, which a single path does not reproduce.
    torch::NoGradGuard no_grad;
    net->train();
    BatchLoader loader(data, theta_split, config.batch_size, derive_seed(config.seed, -1, kPhaseTheta, -1), 0, device);
    Batch batch;
    at::Tensor correct = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device));
    double seen = 0;
    const ArchSample argmax = net->argmax_sample();
    while (loader.next(batch)) {
      const at::Tensor images = settings.channels_last ? to_channels_last(batch.images) : batch.images;
      correct += net->forward(images, argmax).argmax(1).eq(batch.labels).sum();
      seen += static_cast<double>(batch.labels.size(0));
    }
    result.argmax_accuracy = seen > 0 ? static_cast<double>(correct.item<int64_t>()) / seen : 0;
  }
  if (!result.epochs.empty()) result.theta_accuracy = result.epochs.back().theta_accuracy;
  ArchSpec out_arch = arch_spec;
  json layer_latency = json::array();
  for (const LatencyValue& v : arch_latency.layers) layer_latency.push_back(v.us);
  out_arch.origin = {{"space", space.name}, {"target", target.name}, {"db", db}, {"data", config.data},
                     {"choices", result.choices}, {"theta", net->theta_values()},
                     {"probabilities", net->probabilities()}, {"predicted_latency_ms", result.predicted_latency_ms},
                     {"latency_estimated", result.latency_estimated}, {"layer_latency_us", layer_latency},
                     {"argmax_accuracy_theta_split", result.argmax_accuracy}, {"epochs", config.epochs},
                     {"seed", config.seed}, {"mode", config.mode}};
  if (config.latency_target_ms > 0) out_arch.origin["latency_target_ms"] = config.latency_target_ms;
  write_text_file_atomic(paths.arch(), arch_to_json(out_arch).dump(2) + "\n");
  return result;
}

}  // namespace dnas

#include "search/trainer.h"

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
#include "ops/error.h"
#include "search/batch_loader.h"
#include "search/dataset.h"
#include "search/report.h"
#include "search/run_state.h"
#include "supernet/config_reader.h"
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
  int64_t epoch = 0, phase = kPhaseW, step = 0;
  double w_loss = 0, w_correct = 0, w_seen = 0, w_steps = 0;
  double theta_loss = 0, theta_correct = 0, theta_seen = 0, theta_steps = 0, latency_us = 0;

  template <typename F>
  void fields(F&& f) {
    for (auto* field : {&epoch, &phase, &step}) f(*field);
    for (auto* field : {&w_loss, &w_correct, &w_seen, &w_steps, &theta_loss, &theta_correct, &theta_seen, &theta_steps,
                        &latency_us})
      f(*field);
  }
  void start_epoch(int64_t e) { *this = Progress{}, epoch = e; }
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

double temperature(const SearchConfig& c, int64_t epoch) {
  if (c.schedule == "linear")
    return c.epochs <= 1 ? c.tau0 : c.tau0 + (c.tau_min - c.tau0) * static_cast<double>(epoch) / (c.epochs - 1);
  return c.tau0 * std::pow(c.tau_decay, static_cast<double>(epoch));
}

}  // namespace

at::Tensor latency_aware_loss(const at::Tensor& cross_entropy, const at::Tensor& latency_us, double alpha, double beta) {
  return cross_entropy * alpha * latency_us.clamp_min(1.0 + 1e-6).log().pow(beta);
}

SearchResult run_search(const SearchConfig& config, bool resume, const std::atomic<bool>* interrupt,
                        const SearchCallbacks& callbacks) {
  auto message = [&](const std::string& text) {
    if (callbacks.on_message) callbacks.on_message(text);
  };
  config.validate();
  RunPaths paths{fs::path(config.out)};
  std::error_code ec;
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

  if (config.threads > 0) at::set_num_threads(static_cast<int>(config.threads));
  DNAS_CHECK(config.device == "cpu" || config.device == "cuda", "--device: expected cpu or cuda, got '", config.device, "'");
  check_device(config.device, "fp32", "--device");
  const torch::Device device(config.device == "cuda" ? torch::kCUDA : torch::kCPU);

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
  DNAS_CHECK(static_cast<int64_t>(theta_split.size()) >= config.batch_size, "--data ", config.data, ": the theta split has ",
             theta_split.size(), " samples, fewer than one batch of ", config.batch_size);

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

  fs::create_directories(paths.dir, ec);
  DNAS_CHECK(!ec, config.out, ": cannot create the run directory (", ec.message(), ")");
  Progress progress;
  if (resume) {
    progress = unpack_fields<Progress>(load_checkpoint(paths.checkpoint(), checkpoint_parts(net, w_opt, theta_opt)),
                                       paths.checkpoint());
    truncate_jsonl(paths.log(), progress.epoch);
    truncate_jsonl(paths.theta(), progress.epoch);
    message("resuming at epoch " + std::to_string(progress.epoch) + (progress.phase == kPhaseW ? " (w" : " (theta") +
            " step " + std::to_string(progress.step) + ")");
  } else {
    write_text_file_atomic(paths.config(), config_to_json(config).dump(2) + "\n");
    write_text_file_atomic(paths.log(), "");
    write_text_file_atomic(paths.theta(), "");
  }

  const int64_t warmup = config.resolved_warmup();
  const SampleMode mode = config.mode == "hard" ? SampleMode::kHard : SampleMode::kSoft;
  const NoiseScope scope = config.noise == "sample" ? NoiseScope::kPerSample : NoiseScope::kPerBatch;
  const int64_t w_steps = static_cast<int64_t>(w_split.size()) / config.batch_size;
  DNAS_CHECK(w_steps >= 1, "--data ", config.data, ": the w split is smaller than one batch");
  const double fixed_us = latency.fixed_us();
  const double target_us = config.latency_target_ms * 1000.0;
  std::vector<torch::Tensor> weights = net->weight_parameters();

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
      net->train();
      for (auto& p : weights) p.requires_grad_(w_phase);
      BatchLoader loader(data, w_phase ? w_split : theta_split, config.batch_size,
                         derive_seed(config.seed, epoch, phase, -1), progress.step, device);
      const int64_t steps = loader.batches();
      Batch batch;
      while (progress.step < steps && loader.next(batch)) {
        const int64_t step = progress.step;
        torch::manual_seed(derive_seed(config.seed, epoch, phase, step));
        torch::Tensor loss, logits;
        if (w_phase) {
          const double t = static_cast<double>(epoch * w_steps + step) / static_cast<double>(config.epochs * w_steps);
          lr = config.lr_w * 0.5 * (1.0 + std::cos(M_PI * t));
          for (auto& group : w_opt.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
          ArchSample sample;
          {
            torch::NoGradGuard no_grad;  // theta is fixed while w trains
            sample = net->sample(tau, mode, scope, batch.images.size(0));
          }
          logits = net->forward(batch.images, sample);
          const torch::Tensor lat = net->expected_latency_us(sample, latency_us, fixed_us).detach();
          loss = latency_aware_loss(torch::nn::functional::cross_entropy(logits, batch.labels), lat, config.alpha, config.beta);
          clear_gradients(w_opt);
          loss.backward();
          w_opt.step();
        } else if (train_theta) {
          const ArchSample sample = net->sample(tau, mode, scope, batch.images.size(0));
          logits = net->forward(batch.images, sample);
          const torch::Tensor lat = net->expected_latency_us(sample, latency_us, fixed_us);
          loss = latency_aware_loss(torch::nn::functional::cross_entropy(logits, batch.labels), lat, config.alpha, config.beta);
          if (target_us > 0) loss = loss + config.latency_penalty * (lat / target_us - 1.0).relu();
          clear_gradients(theta_opt);
          loss.backward();
          theta_opt.step();
          progress.latency_us += lat.item<double>();
        } else {
          // Warm-up: theta is frozen, but its split still reports accuracy and latency.
          torch::NoGradGuard no_grad;
          const ArchSample sample = net->sample(tau, mode, scope, batch.images.size(0));
          logits = net->forward(batch.images, sample);
          const torch::Tensor lat = net->expected_latency_us(sample, latency_us, fixed_us);
          loss = latency_aware_loss(torch::nn::functional::cross_entropy(logits, batch.labels), lat, config.alpha, config.beta);
          progress.latency_us += lat.item<double>();
        }
        const double loss_value = loss.item<double>();
        if (!std::isfinite(loss_value)) {
          std::error_code exists_ec;
          const bool saved = fs::exists(paths.checkpoint(), exists_ec);
          throw Error(detail::concat("loss is ", loss_value, " at epoch ", epoch, " (", w_phase ? "w" : "theta",
                                     " step ", step, "); stopped without saving. ",
                                     saved ? "The last good checkpoint is " + paths.checkpoint()
                                           : std::string("No checkpoint was written yet"),
                                     ". Lower --lr-w / --lr-theta and start a new --out"));
        }
        const double correct = logits.argmax(1).eq(batch.labels).sum().item<double>();
        if (w_phase) {
          progress.w_loss += loss_value;
          progress.w_correct += correct;
          progress.w_seen += static_cast<double>(batch.labels.size(0));
          progress.w_steps += 1;
        } else {
          progress.theta_loss += loss_value;
          progress.theta_correct += correct;
          progress.theta_seen += static_cast<double>(batch.labels.size(0));
          progress.theta_steps += 1;
        }
        ++progress.step;
        if (callbacks.on_step) callbacks.on_step({w_phase ? "w" : "theta", epoch, progress.step, steps, loss_value});
        const bool periodic = config.checkpoint_every > 0 && progress.step % config.checkpoint_every == 0;
        if (stop_requested() || periodic)
          save_checkpoint(paths.checkpoint(), checkpoint_parts(net, w_opt, theta_opt), pack_fields(progress));
        if (stop_requested()) {
          result.interrupted = true;
          return result;
        }
      }
    }

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
    append_jsonl(paths.log(), {{"epoch", epoch}, {"w_loss", record.w_loss}, {"w_accuracy", record.w_accuracy},
                              {"theta_loss", record.theta_loss}, {"theta_accuracy", record.theta_accuracy},
                              {"theta_trained", train_theta}, {"expected_latency_ms", record.expected_latency_ms},
                              {"latency_estimated", latency.any_estimated}, {"temperature", tau},
                              {"theta_entropy", record.theta_entropy}, {"lr_w", lr}, {"seconds", record.seconds}});
    json candidates = json::array();
    for (const auto& layer : resolved.layers) {
      json keys = json::array();
      for (const CandidateCost& c : layer.candidates) keys.push_back(c.op);
      candidates.push_back(keys);
    }
    append_jsonl(paths.theta(), {{"epoch", epoch}, {"temperature", tau}, {"theta", net->theta_values()},
                                {"probabilities", net->probabilities()}, {"candidates", candidates}});
    Progress next;
    next.epoch = epoch + 1;
    save_checkpoint(paths.checkpoint(), checkpoint_parts(net, w_opt, theta_opt), pack_fields(next));
    result.epochs.push_back(record);
    if (callbacks.on_epoch) callbacks.on_epoch(record);
  }

  // The derived architecture: argmax of theta per layer, with its predicted latency.
  result.choices = net->argmax_choices();
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
    double correct = 0, seen = 0;
    const ArchSample argmax = net->argmax_sample();
    while (loader.next(batch)) {
      correct += net->forward(batch.images, argmax).argmax(1).eq(batch.labels).sum().item<double>();
      seen += static_cast<double>(batch.labels.size(0));
    }
    result.argmax_accuracy = seen > 0 ? correct / seen : 0;
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
  if (target_us > 0) out_arch.origin["latency_target_ms"] = config.latency_target_ms;
  write_text_file_atomic(paths.arch(), arch_to_json(out_arch).dump(2) + "\n");
  write_report(config.out);
  return result;
}

}  // namespace dnas

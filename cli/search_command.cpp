#include "cli/search_command.h"

#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>

#include "cli/format.h"
#include "cli/interrupt.h"
#include "cli/config_flags.h"
#include "cli/progress.h"
#include "latency_lut/latency_table.h"
#include "common/error.h"
#include "common/file_io.h"
#include "report/report.h"
#include "search/search_loop.h"
#include "common/config_reader.h"
#include "supernet/config_store.h"

namespace dnas::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct SearchFlags {
  explicit SearchFlags(CLI::App* cmd) : flags(cmd, search_config_fields()) {}
  ConfigFlags<SearchConfig> flags;
  std::string config_file, recipe_name;
  bool resume = false, as_json = false;
};

void run_search_command(SearchFlags& f) {
  // A config file, then the recipe over it, then the flags given: each overrides the one before.
  // On --resume the recipe and flags go over the run's own config, whose resume refuses any change.
  const auto apply_recipe = [&](SearchConfig& config) {
    if (f.recipe_name.empty()) return;
    const ConfigText recipe = require_config(ConfigKind::kSearchRecipe, f.recipe_name);
    config = config_from_json(parse_json_text(recipe.text, recipe.origin), recipe.origin, config);
  };
  SearchConfig config;
  if (!f.config_file.empty())
    config = config_from_json(parse_json_text(read_text_file(f.config_file), f.config_file), f.config_file);
  apply_recipe(config);
  if (f.resume) {
    SearchConfig probe = config;
    f.flags.apply(probe);
    const std::string saved = (fs::path(probe.out) / "config.json").string();
    std::error_code ec;
    DNAS_CHECK(fs::exists(saved, ec), "--resume: ", probe.out, " holds no search (", saved, " is missing)");
    config = config_from_json(parse_json_text(read_text_file(saved), saved), saved);
    apply_recipe(config);
  }
  f.flags.apply(config);
  config.validate();  // before joining other ranks, so a bad flag fails at once

  // Launched by torchrun / srun / mpirun: join the other ranks; rank 0 alone reports.
  const World world = World::join(read_launch_info(), config.device);
  const InterruptScope interrupt;
  bool announced = false;
  const bool quiet = f.as_json || !world.is_main();
  std::unique_ptr<ProgressBar> bar;
  std::string bar_key;
  SearchCallbacks callbacks;
  callbacks.on_message = [&](const std::string& m) {
    if (!quiet) std::cerr << m << '\n';
  };
  callbacks.on_step = [&](const SearchProgress& p) {
    if (quiet) return;
    if (world.distributed() && !announced) {  // after the run directory checks, which fail in one line
      std::cerr << "distributed: " << world.describe() << ", batch " << config.batch_size << " per rank, "
                << config.batch_size * world.size() << " in all\n";
      announced = true;
    }
    const std::string key = std::to_string(p.epoch) + p.phase;
    if (key != bar_key || !bar) {
      if (bar) bar->finish();
      bar = std::make_unique<ProgressBar>("epoch " + std::to_string(p.epoch + 1) + "/" + std::to_string(config.epochs) +
                                              " " + (p.phase == "w" ? "w    " : "theta"),
                                          static_cast<size_t>(p.steps));
      bar_key = key;
    }
    bar->update(static_cast<size_t>(p.step), "loss " + fixed(p.loss, 3));
  };
  callbacks.on_epoch = [&](const EpochRecord& r) {
    if (quiet) return;
    if (bar) bar->finish();
    bar.reset();
    std::cerr << "epoch " << r.epoch + 1 << ": w loss " << fixed(r.w_loss, 3) << " acc " << percent(r.w_accuracy)
              << " | theta split acc " << percent(r.theta_accuracy) << (r.theta_trained ? "" : " (warm-up, theta frozen)")
              << " | E[LAT] " << fixed(r.expected_latency_ms, 3) << " ms"
              << (config.has_target() ? " | argmax " + fixed(r.argmax_latency_ms, 3) + " ms" : std::string())
              << (config.has_target() && config.target_loss == "dual" ? " | lambda " + fixed(r.lambda, 2) : std::string())
              << " | tau " << fixed(r.temperature, 2)
              << " | H(theta) " << fixed(r.theta_entropy, 2) << " | " << format_duration(r.seconds) << '\n';
  };
  const SearchResult result = run_search(config, f.resume, interrupt.requested(), callbacks, world);
  if (bar) bar->finish();
  if (result.interrupted && !world.is_main()) std::exit(130);
  if (!world.is_main()) return;
  if (result.interrupted) {
    std::cerr << "interrupted: checkpoint written to " << (fs::path(config.out) / "checkpoint.pt").string()
              << "; continue with: dnas search --resume --out " << config.out << '\n';
    std::exit(130);
  }
  const std::string arch_path = (fs::path(config.out) / "arch.json").string();
  const std::string report_path = write_report(config.out);
  const double divergence = result.epochs.empty() ? 0 : result.epochs.back().rank_divergence;
  const double target_ms = result.latency_target_ms;  // resolved, also when given as a fraction
  const double target_error = config.has_target() ? result.predicted_latency_ms / target_ms - 1.0 : 0.0;
  if (f.as_json) {
    json candidates = json::array();
    for (const Candidate& c : result.candidates) candidates.push_back(candidate_to_json(c));
    std::cout << json{{"run", config.out}, {"arch", arch_path}, {"report", report_path}, {"choices", result.choices},
                      {"predicted_latency_ms", result.predicted_latency_ms},
                      {"latency_estimated", result.latency_estimated}, {"derived_accuracy", result.derived_accuracy},
                      {"sampled_accuracy", result.theta_accuracy}, {"epochs", result.epochs.size()},
                      {"ranks", world.size()}, {"rank_divergence", divergence},
                      {"latency_target_ms", config.has_target() ? json(target_ms) : json(nullptr)},
                      {"latency_target_met", config.has_target() ? json(result.target_met) : json(nullptr)},
                      {"latency_target_error", config.has_target() ? json(target_error) : json(nullptr)},
                      {"candidates", candidates}}
                     .dump(2)
              << '\n';
    return;
  }
  std::cout << "\nsearch finished: " << config.space << " on " << config.target << ", " << config.epochs << " epochs"
            << (config.method == "random" ? " (random search)" : "") << "\n";
  const bool trials = config.select == "trained";
  std::vector<std::string> header{"", "candidate", "latency", "accuracy", "log p", "blocks"};
  std::vector<bool> right{false, false, true, true, true, false};
  const bool finals = config.has_final_round();
  if (trials) {
    header.insert(header.begin() + 4, "trained");
    right.insert(right.begin() + 4, true);
  }
  if (finals) {
    header.insert(header.begin() + 5, "final");
    right.insert(right.begin() + 5, true);
  }
  Table table(header, right);
  for (const Candidate& c : result.candidates) {
    std::string blocks;
    for (const std::string& op : c.ops) blocks += (blocks.empty() ? "" : " ") + op;
    const std::string band = c.within_target ? "" : std::string(" (") + off_target(c, target_ms * 1000) + ")";
    std::vector<std::string> row{c.selected ? "*" : "", c.name, fixed(c.latency_us / 1000.0, 3) + " ms" + band,
                                 percent(c.accuracy), fixed(c.log_likelihood, 2), blocks};
    // A trial's score; with --trial-metric loss the loss that ranked it too.
    const auto trial_cell = [&](double accuracy, double loss) {
      if (accuracy < 0) return std::string();
      return percent(accuracy) + (config.trial_metric == "loss" ? " (loss " + fixed(loss, 3) + ")" : "");
    };
    if (trials) row.insert(row.begin() + 4, trial_cell(c.trial_accuracy, c.trial_loss));
    if (finals) row.insert(row.begin() + 5, trial_cell(c.final_trial_accuracy, c.final_trial_loss));
    table.add_row(row);
  }
  std::cout << "  candidates, scored on the theta split"
            << (config.recalibration_batches > 0 ? " with recalibrated BatchNorm statistics" : "")
            << (trials ? "; trained: after " + std::to_string(config.trial_epochs) + " epoch(s) from scratch" : "")
            << (finals ? "; final: the best " + std::to_string(config.trial_finalists) + " again, " +
                             std::to_string(config.final_trial_epochs()) + " epochs" +
                             (config.trial_final_seeds > 1
                                  ? ", the mean of " + std::to_string(config.trial_final_seeds) + " seeds"
                                  : std::string())
                       : "")
            << " (log p: under softmax(theta); * won by " << config.select
            << (trials && config.trial_metric == "loss" ? ", the trials ranked by loss" : "") << "):\n";
  table.print(std::cout, "    ");
  std::cout << "  chosen blocks:";
  for (size_t i = 0; i < result.choices.size(); ++i) std::cout << (i % 6 == 0 ? "\n    " : " ") << result.choices[i];
  std::cout << "\n  predicted latency: " << fixed(result.predicted_latency_ms, 3) << " ms"
            << (result.latency_estimated ? " (ESTIMATED: no measured table for " + config.target + ")" : " (measured table)")
            << (config.has_target()
                    ? "\n  latency target: " + fixed(target_ms, 3) + " ms, achieved " +
                          fixed(result.predicted_latency_ms, 3) + " ms (" + (target_error >= 0 ? "+" : "") +
                          fixed(100 * target_error, 1) + "%): " + (result.target_met ? "met" : "NOT met") +
                          (config.latency_tolerance > 0 ? " within +" + fixed(100 * config.latency_tolerance, 0) + "%"
                                                        : std::string())
                    : std::string())
            << "\n  accuracy on the theta split: " << percent(result.derived_accuracy) << " (derived arch), "
            << percent(result.theta_accuracy) << " (sampled archs, last epoch)"
            << (world.distributed() ? "\n  ranks: " + std::to_string(world.size()) +
                                          ", largest weight/theta difference between ranks " + fixed(divergence, 9)
                                    : std::string())
            << "\n  arch:   " << arch_path
            << "\n  report: " << report_path << "\n";
}

// ---- sample ------------------------------------------------------------------------------------

struct SampleFlags {
  std::string run;
  int64_t count = 6;
  uint64_t seed = 0;
  bool as_json = false;
};

void run_sample(const SampleFlags& f) {
  const fs::path dir(f.run);
  const std::string theta_path = (dir / "theta.jsonl").string(), config_path = (dir / "config.json").string();
  const SearchConfig config = config_from_json(parse_json_text(read_text_file(config_path), config_path), config_path);
  std::ifstream in(theta_path);
  DNAS_CHECK(in.good(), theta_path, ": missing (has the search finished an epoch?)");
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  DNAS_CHECK(!last.empty(), theta_path, ": no epoch recorded yet");
  const json theta = parse_json_text(last, theta_path);
  const auto probabilities = theta.at("probabilities").get<std::vector<std::vector<double>>>();
  const auto candidates = theta.at("candidates").get<std::vector<std::vector<std::string>>>();

  // The space as the search saw it (input size, channels and classes come from its arch.json).
  SearchSpace space = load_space(config.space);
  const std::string arch_path = (dir / "arch.json").string();
  std::error_code ec;
  if (fs::exists(arch_path, ec)) {
    const ArchSpec searched = parse_arch_text(read_text_file(arch_path), arch_path);
    space.input_size = searched.input_size;
    space.input_channels = searched.input_channels;
    space.num_classes = searched.num_classes;
  }
  const TargetSpec target = load_target(config.target);
  const LatencyTable table(target, table_for_lookup(target, config.db), resolved_lut_settings(config, target), true);

  std::mt19937_64 rng(f.seed);
  fs::create_directories(dir / "samples", ec);
  json out = json::array();
  Table printed({"#", "predicted", "file", "blocks"}, {true, true, false, false});
  for (int64_t n = 0; n < f.count; ++n) {
    std::vector<std::string> choices;
    for (size_t l = 0; l < probabilities.size(); ++l) {
      std::discrete_distribution<size_t> pick(probabilities[l].begin(), probabilities[l].end());
      choices.push_back(candidates[l][pick(rng)]);
    }
    ArchSpec arch = space.derive(choices);
    const ArchLatency latency = table.for_arch(resolve_arch(arch), config.space);
    arch.name = space.name + "_sample" + std::to_string(n);
    arch.origin["run"] = f.run;
    arch.origin["sample"] = n;
    arch.origin["sample_seed"] = f.seed;
    arch.origin["predicted_latency_ms"] = latency.total_us() / 1000.0;
    arch.origin["latency_estimated"] = latency.any_estimated;
    char name[32];
    std::snprintf(name, sizeof name, "sample_%02lld.json", static_cast<long long>(n));
    const std::string path = (dir / "samples" / name).string();
    write_text_file_atomic(path, arch_to_json(arch).dump(2) + "\n");
    out.push_back({{"file", path}, {"choices", choices}, {"predicted_latency_ms", latency.total_us() / 1000.0},
                   {"latency_estimated", latency.any_estimated}});
    std::string blocks;
    for (const std::string& c : choices) blocks += (blocks.empty() ? "" : " ") + c;
    printed.add_row({std::to_string(n), fixed(latency.total_us() / 1000.0, 3) + (latency.any_estimated ? " ms*" : " ms"),
                     path, blocks});
  }
  if (f.as_json) {
    std::cout << json{{"run", f.run}, {"samples", out}}.dump(2) << '\n';
    return;
  }
  printed.print(std::cout);
  std::cout << "\n" << f.count << " architectures drawn from softmax(theta) of " << f.run
            << " (seed " << f.seed << "); retrain each and keep the best, as the FBNet paper does.\n";
}

}  // namespace

void add_search_commands(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "search",
      "Search an architecture: train a Gumbel-softmax supernet against a target's latency table\n"
      "The loss is CE * alpha * (log LAT)^beta with LAT the expected latency from the target's table,\n"
      "or CE + penalty * |LAT/T - 1| with a target T. The result is the best of argmax(theta) and\n"
      "--samples draws within the target by BN-recalibrated accuracy (--select likelihood: the one\n"
      "softmax(theta) makes likeliest; --select trained: the best of the --trial-candidates likeliest,\n"
      "each trained briefly from scratch, the best --trial-finalists of them again for longer).\n"
      "--mode soft runs every\n"
      "candidate (FBNet); --mode hard one sampled path per step, about 6x faster, its candidates\n"
      "sharing nested weights.\n"
      "Writes a run directory (config.json, log.jsonl, theta.jsonl, checkpoint.pt, arch.json,\n"
      "candidates.json, report.html). Ctrl-C writes a checkpoint.\n"
      "Examples:\n"
      "  dnas search --space small --target host-cpu --data mnist:data/mnist --epochs 6 --out runs/mnist\n"
      "  dnas search --space small --data fashion-mnist --mode hard --latency-target-fraction 0.3\n"
      "  dnas search --recipe small_budget --space small_mixed --data fashion-mnist --max-samples 15000 \\\n"
      "    --latency-target-fraction 0.5 --out runs/fashion   (the setting measured against random search)\n"
      "  dnas search --resume --out runs/mnist\n"
      "  dnas search --space small --target tx1 --data synthetic --latency-target-ms 0.5\n"
      "Distributed (data parallel over c10d: Gloo on CPU, NCCL on GPUs; --batch-size is per rank):\n"
      "  torchrun --no-python --nproc-per-node 8 dnas search --device cuda ...\n"
      "  srun --ntasks-per-node 8 dnas search --device cuda ...  (MASTER_ADDR for several nodes)\n"
      "  DNAS_DIST_TIMEOUT=<s> bounds the rendezvous and each collective (default 300)");
  auto f = std::make_shared<SearchFlags>(cmd);
  cmd->add_option("--config", f->config_file, "A config.json to start from (a recipe and flags override it)");
  cmd->add_option("--recipe", f->recipe_name,
                  "A search recipe (" + config_names_listed(ConfigKind::kSearchRecipe) +
                      ") or .json: settings for a purpose, flags override it. small_budget is what "
                      "bench/search_quality.sh measured against random search");
  cmd->add_flag("--resume", f->resume, "Continue the search in --out from its last checkpoint");
  cmd->add_flag("--json", f->as_json, "Print a JSON summary instead of progress and text");
  cmd->callback([f] { run_search_command(*f); });

  auto s = std::make_shared<SampleFlags>();
  CLI::App* sample = app.add_subcommand(
      "sample", "Draw N architectures from softmax(theta) of a search run (as the FBNet paper does before retraining)");
  sample->add_option("--run", s->run, "Search run directory")->required();
  sample->add_option("-n", s->count, "Number of architectures (each is written as an arch file)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{10000}));
  sample->add_option("--seed", s->seed, "Sampling seed")->capture_default_str();
  sample->add_flag("--json", s->as_json, "Print JSON");
  sample->callback([s] { run_sample(*s); });

  auto dir = std::make_shared<std::string>();
  CLI::App* report = app.add_subcommand("report", "Write the self-contained HTML report of a search run directory");
  report->add_option("run", *dir, "Search run directory")->required();
  report->callback([dir] { std::cout << write_report(*dir) << '\n'; });
}

}  // namespace dnas::cli

// End-to-end tests of `dnas search`, `dnas sample` and `dnas report`: the run directory, exact
// resume after SIGKILL and after Ctrl-C, and the one-line errors for bad input.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/cli_harness.h"

namespace {

using namespace dnas::testing;
using nlohmann::json;

class CliSearch : public CliTest {
 protected:
  // A short search on generated data: small space at 16x16, one channel, four classes.
  std::string search_args(const std::string& out) const {
    return "search --space small --target host-cpu --data synthetic:384:16:1:4 --epochs 3 --batch-size 16 "
           "--warmup-epochs 1 --seed 5 --checkpoint-every 2 --out " + path(out);
  }
};

int lines_in(const std::string& file) {
  std::ifstream in(file);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

TEST_F(CliSearch, RunDirectorySampleAndReport) {
  const Result r = run(search_args("run") + " --json --tau-min 0.2 --momentum 0.8 --weight-decay 0 --theta-weight-decay 0.001");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json config = json::parse(slurp(path("run/config.json")));  // every optimiser setting has a flag
  EXPECT_EQ(config["tau_min"], 0.2);
  EXPECT_EQ(config["momentum"], 0.8);
  EXPECT_EQ(config["weight_decay"], 0.0);
  EXPECT_EQ(config["theta_weight_decay"], 0.001);
  const json summary = json::parse(r.out);
  EXPECT_EQ(summary["choices"].size(), 8u);
  EXPECT_TRUE(summary["latency_estimated"].get<bool>());  // no host-cpu table at 16x16x1 in this test
  for (const char* file : {"config.json", "log.jsonl", "theta.jsonl", "checkpoint.pt", "arch.json", "report.html"})
    EXPECT_TRUE(fs::exists(path("run/") + file)) << file;
  EXPECT_EQ(lines_in(path("run/log.jsonl")), 3);
  EXPECT_EQ(lines_in(path("run/theta.jsonl")), 3);
  const json log = json::parse(slurp(path("run/log.jsonl")).substr(0, slurp(path("run/log.jsonl")).find('\n')));
  for (const char* key : {"w_loss", "theta_accuracy", "expected_latency_ms", "temperature", "theta_entropy"})
    EXPECT_TRUE(log.contains(key)) << key;
  const json arch = json::parse(slurp(path("run/arch.json")));
  EXPECT_EQ(arch["format"], "dnas-arch/1");
  EXPECT_EQ(arch["input_channels"], 1);
  EXPECT_EQ(arch["num_classes"], 4);
  EXPECT_TRUE(arch["origin"]["latency_estimated"].get<bool>());
  EXPECT_EQ(run("arch info " + path("run/arch.json") + " --json").exit_code, 0);  // a usable arch file

  const Result sampled = run("sample --run " + path("run") + " -n 3 --seed 1 --json");
  ASSERT_EQ(sampled.exit_code, 0) << sampled.err;
  const json samples = json::parse(sampled.out)["samples"];
  ASSERT_EQ(samples.size(), 3u);
  for (const auto& s : samples) {
    EXPECT_TRUE(fs::exists(s["file"].get<std::string>()));
    EXPECT_GT(s["predicted_latency_ms"].get<double>(), 0.0);
  }
  EXPECT_EQ(run("sample --run " + path("run") + " -n 3 --seed 1 --json").out, sampled.out);  // seeded

  fs::remove(path("run/report.html"));
  const Result report = run("report " + path("run"));
  EXPECT_EQ(report.exit_code, 0) << report.err;
  EXPECT_TRUE(fs::exists(path("run/report.html")));
}

TEST_F(CliSearch, TargetAsAFractionOfTheReachableRangeResolvesToMs) {
  const Result r = run("search --space small --target host-cpu --data synthetic:160:16:1:4 --epochs 1 --batch-size 16 "
                       "--latency-target-fraction 0.25 --json --out " + path("frac"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json reachable = json::parse(slurp(path("frac/candidates.json")))["reachable_ms"];
  const double low = reachable[0], high = reachable[1];
  ASSERT_LT(low, high);
  EXPECT_NEAR(json::parse(r.out)["latency_target_ms"].get<double>(), low + 0.25 * (high - low), 1e-9);
  const json config = json::parse(slurp(path("frac/config.json")));  // the request, as given
  EXPECT_EQ(config["latency_target_fraction"], 0.25);
  EXPECT_EQ(config["latency_target_ms"], 0.0);
}

// --select trained end to end: the likeliest candidates within the target carry a trial score in
// candidates.json and the report, the best two of them a final score (--trial-finalists 2, the
// default; with --trial-final-seeds 2 the mean of two trials, each kept), and the selected one has
// the best final score.
TEST_F(CliSearch, SelectTrainedScoresTheLikeliestCandidatesAndKeepsTheBest) {
  const Result r = run("search --space small --target host-cpu --data synthetic:160:16:1:4 --epochs 1 --batch-size 16 "
                       "--latency-target-fraction 0.5 --select trained --trial-candidates 2 --trial-epochs 1 "
                       "--trial-final-seeds 2 --json --out " + path("trial"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> trained;
  json selected;
  int within = 0;
  const json document = json::parse(slurp(path("trial/candidates.json")));
  for (const json& c : document["candidates"]) {
    within += c["within_target"].get<bool>();
    if (c["selected"].get<bool>()) selected = c;
    if (c.contains("trial_accuracy_theta_split")) trained.push_back(c);
  }
  ASSERT_GE(within, 1);
  ASSERT_EQ(trained.size(), static_cast<size_t>(std::min(within, 2)));
  ASSERT_TRUE(selected.contains("trial_accuracy_theta_split"));
  const bool final_round = trained.size() >= 2;
  for (const json& c : trained) {
    EXPECT_TRUE(c["within_target"].get<bool>());
    if (!final_round) continue;
    ASSERT_TRUE(c.contains("final_trial_accuracy_theta_split"));  // two trials: both are finalists
    EXPECT_LE(c["final_trial_accuracy_theta_split"].get<double>(),
              selected["final_trial_accuracy_theta_split"].get<double>());
    const std::vector<double> per_seed = c["final_trial_accuracies_theta_split"].get<std::vector<double>>();
    ASSERT_EQ(per_seed.size(), 2u);
    EXPECT_DOUBLE_EQ((per_seed[0] + per_seed[1]) / 2, c["final_trial_accuracy_theta_split"].get<double>());
  }
  if (!final_round) {
    EXPECT_FALSE(selected.contains("final_trial_accuracy_theta_split"));
  }
  EXPECT_EQ(document["final_trial_seeds"], json(2));  // the setting, whether or not a final ran
  const std::string report = slurp(path("trial/report.html"));
  EXPECT_NE(report.find("<th>trained</th>"), std::string::npos);
  EXPECT_NE(report.find("<th>final</th>"), std::string::npos);
  EXPECT_NE(report.find("once with each of 2 seeds, scored by the mean"), std::string::npos);
  // The selected trial's cell shows its top-1 and its loss, as candidates.json has them.
  char loss[32];
  std::snprintf(loss, sizeof loss, " / %.3g</td>", selected["trial_loss_theta_split"].get<double>());
  EXPECT_NE(report.find(loss), std::string::npos) << loss;
}

TEST_F(CliSearch, ARecipeSetsItsSettingsAndFlagsOverrideIt) {
  const Result r = run("search --recipe small_budget --space small --target host-cpu --data synthetic:160:16:1:4 "
                       "--epochs 1 --batch-size 16 --latency-target-fraction 0.5 --trial-candidates 2 --json --out " +
                       path("recipe"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json config = json::parse(slurp(path("recipe/config.json")));
  EXPECT_EQ(config["format"], "dnas-search/3");  // resolved, as every run writes it
  EXPECT_EQ(config["mode"], "hard");              // from the recipe
  EXPECT_EQ(config["theta_estimator"], "reinforce");
  EXPECT_EQ(config["select"], "trained");
  EXPECT_EQ(config["trial_finalists"], 2);
  EXPECT_EQ(config["epochs"], 1);  // the flag, over the recipe's 6
  EXPECT_EQ(config["trial_candidates"], 2);
  // Resuming under another recipe is refused like any changed setting, naming what it changes.
  expect_one_line_error(run("search --resume --recipe fbnet_paper --out " + path("recipe")), "mode \"hard\" -> \"soft\"");
  expect_one_line_error(run("search --recipe fast --out " + path("nope")),
                        "unknown search recipe 'fast' (not a file; known searches: fbnet_paper, small_budget)");
  EXPECT_FALSE(fs::exists(path("nope")));
}

TEST_F(CliSearch, ResumeAfterSigkillMatchesAnUninterruptedRun) {
  ASSERT_EQ(run(search_args("whole")).exit_code, 0);
  const pid_t pid = spawn(search_args("killed"));
  // Kill it once it has written a checkpoint and made some progress past it.
  for (int i = 0; i < 1200 && !fs::exists(path("killed/checkpoint.pt")); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the search finished before it could be killed";
  ASSERT_FALSE(fs::exists(path("killed/arch.json")));

  const Result resumed = run("search --resume --out " + path("killed"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(slurp(path("killed/theta.jsonl")), slurp(path("whole/theta.jsonl")));  // same theta, every epoch
  const json a = json::parse(slurp(path("whole/arch.json"))), b = json::parse(slurp(path("killed/arch.json")));
  EXPECT_EQ(a["layers"], b["layers"]);
  EXPECT_EQ(a["origin"]["theta"], b["origin"]["theta"]);
}

TEST_F(CliSearch, CtrlCWritesACheckpointAndResumes) {
  const pid_t pid = spawn(search_args("interrupted"));
  for (int i = 0; i < 1200 && !fs::exists(path("interrupted/checkpoint.pt")); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_TRUE(fs::exists(path("interrupted/checkpoint.pt")));
  const Result resumed = run("search --resume --out " + path("interrupted") + " --json");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(lines_in(path("interrupted/log.jsonl")), 3);
}

TEST_F(CliSearch, BadInputGivesOneLineAndExitTwo) {
  expect_one_line_error(run("search --data " + path("nowhere") + " --out " + path("a")), "is not a directory");
  expect_one_line_error(run("search --data synthetic:0 --out " + path("a")), "expected positive integers");
  expect_one_line_error(run("search --space tiny-nope --data synthetic --out " + path("a")), "unknown search space 'tiny-nope'");
  expect_one_line_error(run("search --mode medium --out " + path("a")), "--mode: expected soft or hard, got 'medium'");
  expect_one_line_error(run("search --momentum 1.5 --out " + path("a")), "--momentum: expected a value in [0, 1), got 1.5");
  expect_one_line_error(run("search --theta-weight-decay -1 --out " + path("a")),
                        "--theta-weight-decay: expected a value in [0, 1], got -1");
  // Latency targets: an impossible target names the reachable range; NaN or negative coefficients.
  expect_one_line_error(run("search --latency-target-ms 0.00001 --out " + path("a")), "--latency-target-ms 1e-05: outside what space small");
  expect_one_line_error(run("search --latency-penalty nan --out " + path("a")), "--latency-penalty: expected a value in [0, 1e+06], got nan");
  expect_one_line_error(run("search --latency-penalty -1 --out " + path("a")), "--latency-penalty: expected a value in [0, 1e+06], got -1");
  expect_one_line_error(run("search --dual-lr -0.5 --out " + path("a")), "--dual-lr: expected a value in (0, 100], got -0.5");
  expect_one_line_error(run("search --method random --samples 0 --out " + path("a")), "--method random: needs --samples >= 1");
  expect_one_line_error(run("search --latency-constraint hard --out " + path("a")), "--latency-constraint hard: needs --latency-target-ms");
  expect_one_line_error(run("search --method random --select likelihood --out " + path("a")),
                        "--select likelihood: --method random draws its archs uniformly");
  expect_one_line_error(run("search --method random --select trained --out " + path("a")),
                        "--select trained: --method random draws its archs uniformly");
  expect_one_line_error(run("search --select trained --trial-epochs 0 --out " + path("a")),
                        "--trial-epochs: expected a value in [1, 1000], got 0");
  expect_one_line_error(run("search --select trained --trial-final-seeds 0 --out " + path("a")),
                        "--trial-final-seeds: expected a value in [1, 100], got 0");
  expect_one_line_error(run("search --select trained --trial-finalists 1 --out " + path("a")),
                        "--trial-finalists 1: a final round of one chooses nothing");
  expect_one_line_error(run("search --select trained --trial-images 10 --out " + path("a")),
                        "--trial-images 10: fewer than one batch of --batch-size 64");
  expect_one_line_error(run("search --select best --out " + path("a")), "--select");
  expect_one_line_error(run("search --latency-target-fraction 1.5 --out " + path("a")),
                        "--latency-target-fraction: expected a value in");
  expect_one_line_error(run("search --latency-target-ms 1 --latency-target-fraction 0.5 --out " + path("a")),
                        "give one of them");
  EXPECT_FALSE(fs::exists(path("a"))) << "a refused search must not leave a run directory";
  expect_one_line_error(run("search --resume --out " + path("none")), "--resume: " + path("none") + " holds no search");

  // A mislabelled MNIST directory: a label outside 0..9.
  fs::create_directories(path("mnist"));
  std::string images(16 + 4 * 28 * 28, '\0'), labels(8 + 4, '\0');
  const unsigned char image_header[16] = {0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 28, 0, 0, 0, 28};
  const unsigned char label_header[8] = {0, 0, 8, 1, 0, 0, 0, 4};
  std::copy(image_header, image_header + 16, images.begin());
  std::copy(label_header, label_header + 8, labels.begin());
  labels[8 + 2] = 42;
  std::ofstream(path("mnist/train-images-idx3-ubyte"), std::ios::binary) << images;
  std::ofstream(path("mnist/train-labels-idx1-ubyte"), std::ios::binary) << labels;
  expect_one_line_error(run("search --data mnist:" + path("mnist") + " --out " + path("a")),
                        "train-labels-idx1-ubyte: label 42 is outside 0..9 (mislabelled data?)");

  // A diverging loss stops with a message instead of writing NaN weights.
  const Result nan = run(search_args("nan") + " --lr-w 1e30 --json");  // --json: no progress lines
  expect_one_line_error(nan, "loss is ");
  if (nan.err.find("No checkpoint was written yet") != std::string::npos)  // nothing left that blocks a rerun
    EXPECT_FALSE(fs::exists(path("nan"))) << nan.err;
  else
    EXPECT_TRUE(fs::exists(path("nan/checkpoint.pt"))) << nan.err;
  const Result at_once = run("search --space small --target host-cpu --data synthetic:160:16:1:4 --epochs 1 "
                             "--batch-size 16 --warmup-epochs 0 --lr-w 1e30 --json --out " + path("at_once"));
  expect_one_line_error(at_once, "No checkpoint was written yet, so the run directory is removed");
  EXPECT_FALSE(fs::exists(path("at_once")));

  // Resuming with a changed flag is refused, naming the change.
  ASSERT_EQ(run(search_args("done")).exit_code, 0);
  expect_one_line_error(run("search --resume --out " + path("done") + " --epochs 9"), "epochs 3 -> 9");
  expect_one_line_error(run(search_args("done")), "already holds a search");
  const std::string config = slurp(path("done/config.json"));  // edited by hand after the checkpoint
  const size_t at = config.find("\"lr_w\": 0.1,");
  ASSERT_NE(at, std::string::npos) << config;
  std::ofstream(path("done/config.json")) << config.substr(0, at) << "\"lr_w\": 0.2," << config.substr(at + 12);
  expect_one_line_error(run("search --resume --out " + path("done")), "config.json was edited after");
  expect_one_line_error(run("search --resume --out " + path("done")), "lr_w 0.1 -> 0.2");
  expect_one_line_error(run("sample --run " + path("nowhere")), "config.json: cannot read file");
}

}  // namespace

// Data-parallel search and training over c10d/Gloo on this machine: ranks are `dnas` processes
// launched with torchrun's variables over loopback.
//   - Two ranks with batch B each end with the weights and theta of one process with batch 2B
//     (a space without BatchNorm, whose batch statistics would otherwise differ by design), in
//     soft and in hard mode, and they agree with each other (checked in the run itself).
//   - A killed rank makes the others fail within seconds with a message, not hang.
//   - Bad launcher variables, an unreachable MASTER_ADDR, more ranks than GPUs and a failure on
//     rank 0 give one-line errors on every rank.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>
#include <torch/cuda.h>
#include <torch/script.h>

#include "tests/cli_harness.h"

namespace dnas::testing {
namespace {

using nlohmann::json;

// A port nothing listens on right now (the kernel's pick for an ephemeral bind).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t length = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  close(fd);
  return ntohs(addr.sin_port);
}

struct Rank {
  pid_t pid = 0;
  fs::path out, err;
  Result wait() const {
    int status = 0;
    waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }
};

class CliDistributed : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    // Fire and skip candidates only, and a stem and head without BatchNorm.
    std::ofstream(path("nobn.yaml")) << R"(format: dnas-space/1
name: nobn
description: no BatchNorm, so data-parallel runs equal one process over the global batch
input_size: 16
input_channels: 3
num_classes: 4
candidates: [fire_sr0.25, fire_sr0.5, skip]
stem:
  - {op: conv_k3, out: 16, stride: 2, bn: false}
stages:
  - {out: 16, repeats: 2, stride: 1}
head:
  - {op: avgpool}
  - {op: fc}
)";
  }

  // `dnas ARGS` as rank `rank` of `world`, with torchrun's variables.
  Rank launch(int rank, int world, int port, const std::string& args, const std::string& extra_env = "") const {
    Rank r;
    r.out = path("rank" + std::to_string(rank) + "_" + std::to_string(port) + ".out");
    r.err = path("rank" + std::to_string(rank) + "_" + std::to_string(port) + ".err");
    const std::string command = "RANK=" + std::to_string(rank) + " WORLD_SIZE=" + std::to_string(world) +
                                " LOCAL_RANK=" + std::to_string(rank) + " LOCAL_WORLD_SIZE=" + std::to_string(world) +
                                " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " " + extra_env +
                                " exec " + dnas_command(args) + " > " + r.out.string() + " 2> " + r.err.string();
    const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
    EXPECT_EQ(posix_spawn(&r.pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
    return r;
  }

  std::vector<Result> run_world(int world, const std::string& args, const std::string& extra_env = "") const {
    const int port = free_port();
    std::vector<Rank> ranks;
    for (int r = 0; r < world; ++r) ranks.push_back(launch(r, world, port, args, extra_env));
    std::vector<Result> results;
    for (const Rank& r : ranks) results.push_back(r.wait());
    return results;
  }

  std::string search_args(const std::string& mode, int batch, const std::string& out) const {
    return "search --space " + path("nobn.yaml") + " --target host-cpu --estimate-missing --data synthetic:256:16:3:4" +
           " --epochs 2 --warmup-epochs 0 --lr-theta 0.01 --seed 3 --mode " + mode + " --batch-size " + std::to_string(batch) +
           " --out " + path(out) + " --json";
  }
};

// Every floating-point tensor of a checkpoint, by name.
std::map<std::string, torch::Tensor> checkpoint_tensors(const std::string& file) {
  torch::jit::Module module = torch::jit::load(file);
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& p : module.named_parameters()) tensors[p.name] = p.value;
  for (const auto& b : module.named_buffers())
    if (b.value.is_floating_point()) tensors[b.name] = b.value;
  tensors.erase("progress");
  return tensors;
}

TEST_F(CliDistributed, TwoGlooRanksEqualOneProcessOverTheGlobalBatch) {
  for (const std::string mode : {"soft", "hard"}) {
    SCOPED_TRACE(mode);
    const Result single = run(search_args(mode, 16, "single_" + mode));
    ASSERT_EQ(single.exit_code, 0) << single.err;
    // 10 KB buckets: the ~80 KB of gradients travel in several, launched during backward.
    const std::vector<Result> ranks = run_world(2, search_args(mode, 8, "two_" + mode), "DNAS_BUCKET_MB=0.01");
    ASSERT_EQ(ranks[0].exit_code, 0) << ranks[0].err;
    ASSERT_EQ(ranks[1].exit_code, 0) << ranks[1].err;
    EXPECT_TRUE(ranks[1].out.empty()) << "rank 1 must not report: " << ranks[1].out;
    const json summary = json::parse(ranks[0].out);
    EXPECT_EQ(summary["ranks"], 2);
    EXPECT_LE(summary["rank_divergence"].get<double>(), 1e-6);  // the two ranks hold the same weights and theta
    EXPECT_EQ(summary["choices"], json::parse(single.out)["choices"]);

    const std::vector<json> one = read_jsonl(path("single_" + mode + "/theta.jsonl"));
    const std::vector<json> two = read_jsonl(path("two_" + mode + "/theta.jsonl"));
    ASSERT_EQ(one.size(), 2u);
    ASSERT_EQ(two.size(), 2u);
    for (size_t e = 0; e < one.size(); ++e)
      for (size_t l = 0; l < one[e]["theta"].size(); ++l)
        for (size_t c = 0; c < one[e]["theta"][l].size(); ++c)
          EXPECT_NEAR(one[e]["theta"][l][c].get<double>(), two[e]["theta"][l][c].get<double>(), 1e-6);
    const auto a = checkpoint_tensors(path("single_" + mode + "/checkpoint.pt"));
    const auto b = checkpoint_tensors(path("two_" + mode + "/checkpoint.pt"));
    ASSERT_EQ(a.size(), b.size());
    ASSERT_GT(a.size(), 10u);
    for (const auto& [name, tensor] : a)
      EXPECT_LE((tensor - b.at(name)).abs().max().item<double>(), 1e-6) << name;
  }
}

// DNAS_DIST_GROUP_OF_ONE: a world of one that still runs every collective through c10d (how one
// GPU tests the NCCL path) must train exactly what the plain single process trains.
TEST_F(CliDistributed, AGlooGroupOfOneEqualsTheSingleProcess) {
  const Result single = run(search_args("hard", 16, "plain"));
  ASSERT_EQ(single.exit_code, 0) << single.err;
  const std::vector<Result> group = run_world(1, search_args("hard", 16, "group"),
                                              "DNAS_DIST_GROUP_OF_ONE=1 DNAS_BUCKET_MB=0.01");
  ASSERT_EQ(group[0].exit_code, 0) << group[0].err;
  EXPECT_EQ(json::parse(group[0].out)["ranks"], 1);
  EXPECT_EQ(read_jsonl(path("group/log.jsonl")).back()["ranks"], 1);  // the log says the collectives ran
  const auto a = checkpoint_tensors(path("plain/checkpoint.pt"));
  const auto b = checkpoint_tensors(path("group/checkpoint.pt"));
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) EXPECT_TRUE(at::equal(tensor, b.at(name))) << name;
}

TEST_F(CliDistributed, OnCudaAnNcclGroupOfOneSearches) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device (needs a GPU)";
  const std::vector<Result> group =
      run_world(1, "search --device cuda --space small --target host-cpu --estimate-missing --data synthetic:512"
                   " --epochs 2 --warmup-epochs 0 --batch-size 32 --mode hard --out " + path("nccl") + " --json",
                "DNAS_DIST_GROUP_OF_ONE=1");
  ASSERT_EQ(group[0].exit_code, 0) << group[0].err;
  const json summary = json::parse(group[0].out);
  EXPECT_EQ(summary["ranks"], 1);
  EXPECT_EQ(summary["epochs"], 2);
  const std::vector<json> log = read_jsonl(path("nccl/log.jsonl"));
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log.back()["ranks"], 1);  // the gradients went through NCCL: a cuda World's only backend
  EXPECT_EQ(log.back()["rank_divergence"], 0.0);
}

TEST_F(CliDistributed, TrainingOverTwoRanksWritesOneRunThatEvalReproduces) {
  const std::vector<Result> ranks =
      run_world(2, "train --arch squeezenet1_1 --data synthetic:512:32:3:4 --epochs 2 --batch-size 16 --lr 0.01 --out " +
                       path("train") + " --json");
  ASSERT_EQ(ranks[0].exit_code, 0) << ranks[0].err;
  ASSERT_EQ(ranks[1].exit_code, 0) << ranks[1].err;
  EXPECT_TRUE(ranks[1].out.empty());
  EXPECT_EQ(json::parse(ranks[0].out)["ranks"], 2);
  const std::vector<json> log = read_jsonl(path("train/log.jsonl"));
  ASSERT_EQ(log.size(), 2u);
  // The test set was scored in two halves; `dnas eval` on one process agrees.
  const Result eval = run("eval --arch squeezenet1_1 --weights " + path("train/last.pt") +
                          " --data synthetic:512:32:3:4 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_NEAR(json::parse(eval.out)["top1"].get<double>(), log.back()["test_top1"].get<double>(), 1e-9);
  EXPECT_NEAR(json::parse(eval.out)["loss"].get<double>(), log.back()["test_loss"].get<double>(), 1e-4);
}

TEST_F(CliDistributed, AKilledRankMakesTheOthersFailFast) {
  const int port = free_port();
  const std::string args = "search --space small --target host-cpu --estimate-missing --data synthetic:4000:28:1:10"
                           " --epochs 50 --batch-size 16 --out " + path("killed");
  const Rank survivor = launch(0, 2, port, args, "DNAS_DIST_TIMEOUT=120");
  const Rank victim = launch(1, 2, port, args, "DNAS_DIST_TIMEOUT=120");
  // Wait until training is under way (rank 0 has written the run directory), then kill rank 1.
  for (int i = 0; i < 600 && !fs::exists(path("killed/theta.jsonl")); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  kill(victim.pid, SIGKILL);
  victim.wait();
  const auto killed_at = std::chrono::steady_clock::now();
  const Result r = survivor.wait();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_LT(seconds, 20.0) << "the survivor should notice at its next all-reduce, not at the 120 s timeout";
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("rank 0/2: lost contact with the other ranks"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("frame #"), std::string::npos) << r.err;
}

TEST_F(CliDistributed, BadLaunchesGiveOneLineErrorsOnEveryRank) {
  const std::string args = "search --data synthetic --out " + path("bad");
  auto with_env = [&](const std::string& env, const std::string& more_args = "") {
    const std::string command =
        "env " + env + " " + dnas_command(args + more_args) + " > " + path("o") + " 2> " + path("e");
    const int status = std::system(command.c_str());
    return Result{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(path("o")), slurp(path("e"))};
  };
  expect_one_line_error(with_env("RANK=2 WORLD_SIZE=2"), "RANK=2: expected an integer in [0, 1]");
  expect_one_line_error(with_env("RANK=0 WORLD_SIZE=x"), "WORLD_SIZE=x: expected an integer");
  expect_one_line_error(with_env("RANK=0 WORLD_SIZE=2"), "MASTER_ADDR is not set");
  expect_one_line_error(with_env("WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=1"), "RANK is not set");
  expect_one_line_error(with_env("SLURM_PROCID=1 SLURM_NTASKS=4 SLURM_STEP_NUM_NODES=2"),
                        "MASTER_ADDR is not set and the srun step spans 2 nodes");
  expect_one_line_error(
      with_env("OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_SIZE=4 OMPI_COMM_WORLD_LOCAL_RANK=0 OMPI_COMM_WORLD_LOCAL_SIZE=2"),
      "the mpirun ranks span several nodes");
  // Nobody listens at MASTER_ADDR:MASTER_PORT: a timeout with a message.
  expect_one_line_error(with_env("RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(free_port()) +
                                 " DNAS_DIST_TIMEOUT=2"),
                        "rank 1/2: no rendezvous at MASTER_ADDR:MASTER_PORT = 127.0.0.1:");
  // More ranks on this node than GPUs: every rank stops before the rendezvous.
  for (int rank = 0; rank < 2; ++rank)
    expect_one_line_error(with_env("RANK=" + std::to_string(rank) + " LOCAL_RANK=" + std::to_string(rank) +
                                       " WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=1",
                                   " --device cuda"),
                          "2 ranks on this node but it has 0 GPUs");
  // Rank 0 refuses the run directory; rank 1 stops with rank 0's reason instead of waiting.
  ASSERT_EQ(run("search --space " + path("nobn.yaml") + " --target host-cpu --estimate-missing --data synthetic:256:16:3:4"
                " --epochs 1 --warmup-epochs 0 --batch-size 8 --out " + path("taken")).exit_code, 0);
  const std::vector<Result> ranks = run_world(2, search_args("soft", 8, "taken"));
  expect_one_line_error(ranks[0], "already holds a search");
  expect_one_line_error(ranks[1], "rank 1/2: stopping because rank 0 failed:");
}

}  // namespace
}  // namespace dnas::testing

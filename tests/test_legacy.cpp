// Files written by dnas before the restructure (tests/data/legacy-084be68, made by commit 084be68
// as its README says) still work: the latency table's keys still match today's blocks, the search
// checkpoint resumes and derives the same architecture, the training checkpoint resumes, and the
// weights evaluate to the same loss and accuracy.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cli_harness.h"

namespace dnas::testing {
namespace {

using nlohmann::json;

class Legacy : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    fs::copy(fs::path(DNAS_SOURCE_DIR) / "tests/data/legacy-084be68", dir_, fs::copy_options::recursive);
  }
  json read(const std::string& file) const { return json::parse(slurp(dir_ / file)); }
};

TEST_F(Legacy, LatencyTableKeysStillMatchEveryBlock) {
  const Result r = run("lut list --db legacy.db --space legacy.yaml --input 16 --json", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json coverage = json::parse(r.out).at("coverage");
  ASSERT_EQ(coverage.size(), 1u);
  EXPECT_EQ(coverage[0]["measured"], coverage[0]["blocks"]) << coverage.dump();
  EXPECT_EQ(coverage[0]["blocks"], 19);
}

TEST_F(Legacy, SearchCheckpointResumesAndDerivesTheSameArchitecture) {
  const json before = read("search/arch.json");
  fs::remove(dir_ / "search/arch.json");
  const Result r = run("search --resume --out search --json", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json after = read("search/arch.json");
  EXPECT_EQ(after["layers"], before["layers"]);
  EXPECT_EQ(after["origin"]["theta"], before["origin"]["theta"]);
  EXPECT_EQ(after["origin"]["predicted_latency_ms"], before["origin"]["predicted_latency_ms"]);
  EXPECT_FALSE(after["origin"]["latency_estimated"].get<bool>());  // every key found in the old table
}

TEST_F(Legacy, TrainingCheckpointAndWeightsLoad) {
  const Result resumed = run("train --resume --out train --json", dir_);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const Result r = run("eval --arch search/arch.json --weights train/best.pt --data synthetic:96:16:1:4 --json", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json now = json::parse(r.out), then = read("eval.json");
  EXPECT_EQ(now["top1"], then["top1"]);
  EXPECT_NEAR(now["loss"].get<double>(), then["loss"].get<double>(), 1e-6);
}

}  // namespace
}  // namespace dnas::testing

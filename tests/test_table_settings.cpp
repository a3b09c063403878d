// The search looks latencies up at one table setting (batch / dtype / layout): chosen by flag, then
// by the target's lut_* keys, then 1 / fp32 / nchw. A table measured only at other settings is an
// error naming the setting and the ones it has; a table with no rows for the target still gives
// labelled estimates. The training layout (--train-layout, once --memory-format) is a setting of
// its own.
#include <nlohmann/json.hpp>

#include <map>

#include "latency_lut/latency_table.h"
#include "latency_lut/lut_store.h"
#include "ops/registry.h"
#include "search/search_config.h"
#include "supernet/config_store.h"
#include "tests/cli_harness.h"
#include "tests/test_support.h"

namespace dnas {
namespace {

using namespace dnas::testing;
using nlohmann::json;

const char* kToySpace = R"(format: dnas-space/1
name: toy
input_size: 8
input_channels: 3
num_classes: 4
candidates: [ir_k3_e3, skip]
stem: [{op: conv_k3, out: 8}]
stages: [{out: 8, repeats: 2, stride: 1}, {out: 16, repeats: 1, stride: 2}]
head: [{op: avgpool}, {op: fc}]
)";

const char* kTarget = R"(format: dnas-target/1
name: toy
device: toy device
profile_device: cpu
peak_gflops: {fp32: 100}
memory_bandwidth_gbs: 10
compute_efficiency: 0.5
memory_efficiency: 0.5
per_op_overhead_us: 5
lut: toy.db
)";

// Every block of `space` measured for `target` at `settings`, the i-th at 100 + i us.
void measure_all(LutStore& store, const std::string& target, const ResolvedSpace& space, const LutSettings& settings) {
  store.ensure_target(target, "toy device");
  RunRecord run;
  run.target = target;
  run.settings = settings;
  run.started_at = run.finished_at = "2026-11-21T10:00:00Z";
  const int64_t run_id = store.add_run(run);
  const std::vector<BlockToTime> blocks = enumerate_space_blocks(space, settings);
  for (size_t i = 0; i < blocks.size(); ++i) {
    MeasurementRow m;
    m.target = target;
    m.key = blocks[i].key;
    const double us = 100.0 + static_cast<double>(i);
    m.stats = {us, us, us, us, 0, 1};
    m.measured_at = "2026-11-21T10:00:00Z";
    m.run_id = run_id;
    store.put_measurement(m);
  }
}

TEST(TableSettings, ATableMeasuredOnlyAtAnotherSettingNamesBoth) {
  TempDir dir;
  const SearchSpace toy = parse_space_text(kToySpace, "toy.yaml");
  const ResolvedSpace space = resolve_space(toy);
  const TargetSpec target = parse_target_text(kTarget, "toy.yaml");
  const std::string db = dir.file("nhwc.db");
  const LutSettings nchw, nhwc{1, "fp32", "nhwc"};
  {
    LutStore store(db, OpenMode::kCreate);
    measure_all(store, "toy", space, nhwc);
  }
  const size_t blocks = enumerate_space_blocks(space, nhwc).size();
  ASSERT_EQ(blocks, 7u);

  for (const bool estimate_missing : {false, true}) {  // estimating every block would ignore the table
    const std::string message =
        error_of([&] { LatencyTable(target, db, nchw, estimate_missing).for_space(space, "toy"); });
    EXPECT_EQ(message, db + ": target toy has no rows at batch 1 / fp32 / nchw; it has batch 1 / fp32 / nhwc (7 rows). "
                            "Pick it with --lut-layout nhwc (or lut_layout: nhwc in toy.yaml), or measure batch 1 / "
                            "fp32 / nchw with: dnas profile-latency --space toy --target toy --db " +
                            db + " --batch 1 --dtype fp32 --lut-layout nchw");
  }

  // At the setting it was measured at, every value is the measured one.
  const LatencyTable table(target, db, nhwc);
  EXPECT_EQ(table.measured_rows(), blocks);
  const SpaceLatency measured = table.for_space(space, "toy");
  EXPECT_FALSE(measured.any_estimated);
  const std::map<std::string, double> medians = LutStore(db, OpenMode::kExisting).medians("toy", nhwc);
  const auto expect_measured = [&](const LatencyValue& v) {
    EXPECT_FALSE(v.estimated);
    EXPECT_GE(v.us, 100.0);
    EXPECT_LT(v.us, 100.0 + static_cast<double>(blocks));
  };
  for (const LatencyValue& v : measured.stem) expect_measured(v);
  for (const auto& layer : measured.layers)
    for (const LatencyValue& v : layer) expect_measured(v);
  for (const LatencyValue& v : measured.head) expect_measured(v);
  EXPECT_EQ(measured.stem[0].us,
            medians.at(make_lut_key(OpRegistry::builtin().at("conv_k3", "t"), space.stem[0].args, nhwc).str()));

  // Another setting too: both are listed, each with the flags that pick it.
  {
    LutStore store(db, OpenMode::kExisting);
    measure_all(store, "toy", space, {8, "fp16", "nchw"});
  }
  const std::string two = error_of([&] { LatencyTable(target, db, {1, "bf16", "nchw"}).for_space(space, "toy"); });
  EXPECT_NE(two.find(": target toy has no rows at batch 1 / bf16 / nchw; it has batch 1 / fp32 / nhwc (7 rows) and "
                     "batch 8 / fp16 / nchw (7 rows). Pick one with --lut-dtype fp32 --lut-layout nhwc or --lut-batch 8 "
                     "--lut-dtype fp16 (or the same lut_* keys in toy.yaml)"),
            std::string::npos)
      << two;
}

TEST(TableSettings, NoRowsForTheTargetStillEstimates) {
  TempDir dir;
  const SearchSpace toy = parse_space_text(kToySpace, "toy.yaml");
  const ResolvedSpace space = resolve_space(toy);
  const TargetSpec target = parse_target_text(kTarget, "toy.yaml");
  const std::string db = dir.file("other.db");
  {
    LutStore store(db, OpenMode::kCreate);
    measure_all(store, "other-board", space, {1, "fp32", "nhwc"});
  }
  const LatencyTable table(target, db, {});
  EXPECT_EQ(table.measured_rows(), 0u);
  const SpaceLatency estimated = table.for_space(space, "toy");
  EXPECT_TRUE(estimated.any_estimated);
  EXPECT_TRUE(estimated.stem[0].estimated);
}

TEST(TableSettings, TargetKeysAndTheirPrecedence) {
  const TargetSpec plain = parse_target_text(kTarget, "toy.yaml");
  EXPECT_EQ(describe_lut_settings(plain.lut_settings), "batch 1 / fp32 / nchw");
  const TargetSpec target = parse_target_text(std::string(kTarget) + "lut_batch: 4\nlut_dtype: fp16\nlut_layout: nhwc\n",
                                              "toy.yaml");
  EXPECT_EQ(describe_lut_settings(target.lut_settings), "batch 4 / fp16 / nhwc");

  EXPECT_EQ(error_of([] { parse_target_text(std::string(kTarget) + "lut_layout: nwhc\n", "bad.yaml"); }),
            "bad.yaml: lut_layout: expected memory format nchw or nhwc, got 'nwhc'");
  EXPECT_EQ(error_of([] { parse_target_text(std::string(kTarget) + "lut_dtype: fp64\n", "bad.yaml"); }),
            "bad.yaml: lut_dtype: expected dtype fp32, fp16 or bf16, got 'fp64'");
  EXPECT_EQ(error_of([] { parse_target_text(std::string(kTarget) + "lut_batch: 0\n", "bad.yaml"); }),
            "bad.yaml: lut_batch: expected batch >= 1, got 0");
  EXPECT_EQ(error_of([] { parse_target_text(std::string(kTarget) + "lut_batch: one\n", "bad.yaml"); })
                .rfind("bad.yaml: lut_batch: expected an integer", 0),
            0u);

  // Flag (or config) > target > 1 / fp32 / nchw, one setting at a time.
  SearchConfig config;
  EXPECT_EQ(describe_lut_settings(resolved_lut_settings(config, plain)), "batch 1 / fp32 / nchw");
  EXPECT_EQ(describe_lut_settings(resolved_lut_settings(config, target)), "batch 4 / fp16 / nhwc");
  config.lut_layout = "nchw";
  EXPECT_EQ(describe_lut_settings(resolved_lut_settings(config, target)), "batch 4 / fp16 / nchw");
  config.lut_batch = 2;
  config.lut_dtype = "bf16";
  EXPECT_EQ(describe_lut_settings(resolved_lut_settings(config, target)), "batch 2 / bf16 / nchw");

  SearchConfig bad;
  bad.lut_layout = "NHWC";
  EXPECT_EQ(error_of([&] { bad.validate(); }), "--lut-layout: expected memory format nchw or nhwc, got 'NHWC'");
  bad = {};
  bad.lut_dtype = "fp64";
  EXPECT_EQ(error_of([&] { bad.validate(); }), "--lut-dtype: expected dtype fp32, fp16 or bf16, got 'fp64'");
  bad = {};
  bad.lut_batch = -1;
  EXPECT_EQ(error_of([&] { bad.validate(); }).rfind("--lut-batch: expected a value in [0, ", 0), 0u);
}

TEST(TableSettings, TheTrainingLayoutWasCalledMemoryFormat) {
  Json saved = config_to_json(SearchConfig{});
  EXPECT_FALSE(saved.contains("memory_format"));
  EXPECT_EQ(saved["train_layout"], "nhwc");
  EXPECT_EQ(saved["lut_batch"], 0);
  EXPECT_EQ(saved["lut_layout"], "");
  saved.erase("train_layout");
  saved.erase("lut_batch");
  saved.erase("lut_dtype");
  saved.erase("lut_layout");
  saved["memory_format"] = "nchw";  // as every config.json before the rename said
  const SearchConfig old = config_from_json(saved, "old/config.json");
  EXPECT_EQ(old.train_layout, "nchw");
  EXPECT_EQ(old.lut_batch, 0);
  EXPECT_EQ(old.lut_layout, "");
  EXPECT_TRUE(search_config_fields().differences(old, old).empty());
  saved["train_layout"] = "nhwc";
  EXPECT_EQ(error_of([&] { config_from_json(saved, "both.json"); }),
            "both.json: memory_format: the old name of train_layout, given with it: keep only train_layout");
}

// ---- dnas search --------------------------------------------------------------------------------

class CliTableSettings : public CliTest {
 protected:
  std::string search_args(const std::string& out) const {
    return "search --space small --target host-cpu --data synthetic:96:16:1:4 --epochs 1 --batch-size 16 "
           "--samples 0 --recalibration-batches 0 --threads 1 --seed 3 --json --db " + path("nhwc.db") + " --out " +
           path(out);
  }
};

TEST_F(CliTableSettings, SearchUsesTheTablesSettingWhenPicked) {
  // The small space at the search's 16x16x1, 4 classes, measured channels-last only.
  const Result profiled = run("profile-latency --space small --input 16 --input-channels 1 --num-classes 4 "
                              "--target host-cpu --db " + path("nhwc.db") +
                              " --lut-layout nhwc --repeats 1 --warmup 0 --threads 1");
  ASSERT_EQ(profiled.exit_code, 0) << profiled.err;

  const Result refused = run(search_args("nchw"));
  expect_one_line_error(refused, ": target host-cpu has no rows at batch 1 / fp32 / nchw; it has batch 1 / fp32 / nhwc (");
  EXPECT_NE(refused.err.find("Pick it with --lut-layout nhwc (or lut_layout: nhwc in "), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--target host-cpu --db " + path("nhwc.db") + " --batch 1 --dtype fp32 --lut-layout nchw"),
            std::string::npos)
      << refused.err;
  EXPECT_FALSE(fs::exists(path("nchw/config.json")));  // a refused run leaves nothing behind

  const Result r = run(search_args("nhwc") + " --lut-layout nhwc --train-layout nchw");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(json::parse(r.out)["latency_estimated"].get<bool>());
  const json origin = json::parse(slurp(path("nhwc/arch.json")))["origin"];
  EXPECT_FALSE(origin["latency_estimated"].get<bool>());
  EXPECT_EQ(origin["lut_settings"], (json{{"batch", 1}, {"dtype", "fp32"}, {"layout", "nhwc"}}));
  const json config = json::parse(slurp(path("nhwc/config.json")));
  EXPECT_EQ(config["lut_layout"], "nhwc");
  EXPECT_EQ(config["train_layout"], "nchw");
  EXPECT_FALSE(config.contains("memory_format"));

  // The same setting from the target's config instead of a flag.
  std::ofstream(path("host-cpu.yaml")) << "format: dnas-target/1\nname: host-cpu\ndevice: this CPU\n"
                                           "profile_device: cpu\npeak_gflops: {fp32: 192}\nmemory_bandwidth_gbs: 20\n"
                                           "compute_efficiency: 0.3\nmemory_efficiency: 0.5\nper_op_overhead_us: 15\n"
                                           "lut: luts/host-cpu.db\nlut_layout: nhwc\n";
  const Result from_target = run("search --space small --target " + path("host-cpu.yaml") +
                                 " --data synthetic:96:16:1:4 --epochs 1 --batch-size 16 --samples 0 "
                                 "--recalibration-batches 0 --threads 1 --seed 3 --json --db " + path("nhwc.db") +
                                 " --out " + path("from_target"));
  ASSERT_EQ(from_target.exit_code, 0) << from_target.err;
  EXPECT_FALSE(json::parse(from_target.out)["latency_estimated"].get<bool>());
  EXPECT_EQ(json::parse(slurp(path("from_target/arch.json")))["origin"]["lut_settings"]["layout"], "nhwc");
  // profile-latency defaults to the same setting: what it would time is keyed nhwc.
  const Result dry = run("profile-latency --space small --target " + path("host-cpu.yaml") + " --db " +
                         path("other.db") + " --dry-run --json");
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  const json planned = json::parse(dry.out);
  ASSERT_FALSE(planned["to_measure"].empty());
  for (const json& row : planned["to_measure"])
    EXPECT_NE(row["key"].get<std::string>().find("|nhwc"), std::string::npos) << row["key"];
  EXPECT_EQ(planned["config"]["lut_layout"], "nhwc");
  const json overridden = json::parse(run("profile-latency --space small --target " + path("host-cpu.yaml") +
                                          " --db " + path("other.db") + " --dry-run --json --lut-layout nchw").out);
  EXPECT_NE(overridden["to_measure"][0]["key"].get<std::string>().find("|nchw"), std::string::npos);

  // The old name says which new name replaced it, per command.
  expect_one_line_error(run(search_args("old") + " --memory-format nchw"), "--memory-format: renamed; use --train-layout");
  expect_one_line_error(run("profile-latency --space small --target host-cpu --dry-run --memory-format=nhwc"),
                        "--memory-format: renamed; use --lut-layout");
  expect_one_line_error(run("bench net --arch squeezenet1_1 --memory-format nhwc"), "use --lut-layout");
  expect_one_line_error(run("train --memory-format nhwc"), "use --train-layout");
}

}  // namespace
}  // namespace dnas

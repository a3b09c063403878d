// dnas::latency_lut: keys, the SQLite store (schema, versions, bad files), exact export/import
// round trips, corrupt input, the roofline fallback, the lookup policy, statistics and the profiler.
#include <gtest/gtest.h>

#include <sstream>

#include <sqlite3.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "latency_lut/latency_table.h"
#include "latency_lut/lut_io.h"
#include "latency_lut/profiler.h"
#include "latency_lut/roofline.h"
#include "latency_lut/validation.h"
#include "common/error.h"
#include "common/json.h"
#include "ops/registry.h"
#include "supernet/config_store.h"
#include "tests/test_support.h"

namespace dnas {
namespace {

namespace fs = std::filesystem;
using namespace dnas::testing;

TEST(LutKey, CanonicalStrings) {
  const OpRegistry& r = OpRegistry::builtin();
  EXPECT_EQ(make_lut_key(r.at("ir_k5_e6", "t"), args_for(32, 32, 2, 56), {}).str(),
            "ir_k5_e6|in=1x32x56x56|out=32|s=2|fp32|nchw");
  BlockArgs mobilenet = args_for(32, 16, 1, 112);
  mobilenet.options.act = Activation::kRelu6;
  mobilenet.options.ir_e1_pointwise = false;
  EXPECT_EQ(make_lut_key(r.at("ir_k3_e1", "t"), mobilenet, {8, "bf16", "nhwc"}).str(),
            "ir_k3_e1{act=relu6,pw=0}|in=8x32x112x112|out=16|s=1|bf16|nhwc");
  BlockArgs conv = args_for(3, 96, 2, 224);
  conv.options.batch_norm = false;
  conv.options.bias = true;
  conv.options.padding = 0;
  EXPECT_EQ(make_lut_key(r.at("conv_k7", "t"), conv, {}).str(), "conv_k7{bn=0,pad=0}|in=1x3x224x224|out=96|s=2|fp32|nchw");
  EXPECT_EQ(make_lut_key(r.at("maxpool_k3", "t"), args_for(96, 0, 2, 109), {}).str(),
            "maxpool_k3|in=1x96x109x109|out=96|s=2|fp32|nchw");
  EXPECT_EQ(error_of([] { check_lut_settings({1, "fp64", "nchw"}, "--dtype"); }),
            "--dtype: expected dtype fp32, fp16 or bf16, got 'fp64'");
  for (const std::string key : {"ir_k5_e6|in=1x32x56x56|out=32|s=2|fp32|nchw",
                                "ir_k3_e1{act=relu6,pw=0}|in=8x32x112x112|out=16|s=1|bf16|nhwc"})
    EXPECT_EQ(parse_lut_key(key, "k").str(), key);
  EXPECT_EQ(parse_lut_key("conv_k7{bn=0,pad=0}|in=1x3x224x224|out=96|s=2|fp32|nchw", "k").variant, "bn=0,pad=0");
  for (const std::string bad : {"ir_k3_e3", "ir_k3_e3|in=1x3x8|out=8|s=1|fp32|nchw",
                                "ir_k3_e3|in=1x3x8x8|out=8|s=1|fp64|nchw", "ir_k3_e3|in=1x3x8x8|out=8x|s=1|fp32|nchw"})
    EXPECT_EQ(error_of([&] { parse_lut_key(bad, "r.json: results[0].key"); }).rfind("r.json: results[0].key: ", 0), 0u) << bad;
}

MeasurementRow row(const std::string& target, const std::string& op, int64_t in, double median, int64_t run_id) {
  MeasurementRow m;
  m.target = target;
  m.key = make_lut_key(OpRegistry::builtin().at(op, "t"), args_for(in, in, 1, 8), {});
  m.stats = {median, median * 0.9, median * 1.2, median * 1.01, median / 10, 50, 5};
  m.measured_at = "2026-11-21T10:00:00Z";
  m.run_id = run_id;
  return m;
}

RunRecord run_for(const std::string& target) {
  RunRecord r;
  r.target = target;
  r.host = "board-1";
  r.started_at = "2026-11-21T09:59:00Z";
  r.finished_at = "2026-11-21T10:01:00Z";
  r.libtorch_version = "1.13.1";
  r.cuda_version = "none";
  r.device = "cpu";
  r.device_name = "Cortex-A57, \"big\" cluster";  // a comma and quotes: CSV must quote
  r.threads = 4;
  r.warmup = 10;
  r.repeats = 50;
  r.build_commit = "abc123";
  r.dnas_version = "0.1.0";
  r.space = "small";
  r.command = "dnas profile-latency --space small --target tx2";
  r.rounds = 5;
  r.conditions = target == "tx2" ? R"({"governor":{"end":"schedutil","start":"performance"},"noisy":true})" : "{}";
  return r;
}

TEST(LutStore, CreatesVersionedWalSchemaAndRoundTripsRows) {
  TempDir dir;
  const std::string path = dir.file("t.db");
  {
    LutStore store(path, OpenMode::kCreate);
    store.ensure_target("tx2", "Jetson TX2");
    const int64_t run = store.add_run(run_for("tx2"));
    store.put_measurement(row("tx2", "ir_k3_e3", 16, 123.25, run));
    store.put_measurement(row("tx2", "ir_k3_e3", 16, 99.5, run));  // same key: replaced, not duplicated
  }
  const LutStore store(path, OpenMode::kExisting);
  const auto rows = store.measurements();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_DOUBLE_EQ(rows[0].stats.median_us, 99.5);
  EXPECT_EQ(store.medians("tx2", {}).at(rows[0].key.str()), 99.5);
  EXPECT_EQ(store.runs()[0].device_name, "Cortex-A57, \"big\" cluster");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &s, nullptr);
  sqlite3_step(s);
  EXPECT_EQ(sqlite3_column_int(s, 0), kLutSchemaVersion);
  sqlite3_finalize(s);
  sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &s, nullptr);
  sqlite3_step(s);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal");
  sqlite3_finalize(s);
  sqlite3_close(raw);
}

TEST(LutStore, RejectsFilesThatAreNotItsTables) {
  TempDir dir;
  const std::string text = dir.file("notes.db");
  std::ofstream(text) << "this is not a database, just some text that is long enough to have a header";
  EXPECT_EQ(error_of([&] { LutStore(text, OpenMode::kExisting); }).rfind(text + ": not a dnas latency table: ", 0), 0u);

  const std::string other = dir.file("other.db");
  {
    SqliteDb db(other, true);
    db.exec("CREATE TABLE songs (title TEXT)");
  }
  EXPECT_EQ(error_of([&] { LutStore(other, OpenMode::kCreate); }),
            other + ": an SQLite database, but not a dnas latency table (it has 1 other tables and no schema version)");

  const std::string future = dir.file("future.db");
  {
    LutStore store(future, OpenMode::kCreate);
    store.db().exec("PRAGMA user_version = 7");
  }
  EXPECT_EQ(error_of([&] { LutStore(future, OpenMode::kExisting); }),
            future + ": latency table schema version 7, but this dnas reads versions 1 to 2");
  EXPECT_EQ(error_of([&] { LutStore(dir.file("missing.db"), OpenMode::kExisting); }).rfind(dir.file("missing.db") + ": no such latency table", 0), 0u);
}

void fill_example(LutStore& store) {
  store.ensure_target("tx2", "Jetson TX2");
  store.ensure_target("s8", "Galaxy S8");
  const int64_t a = store.add_run(run_for("tx2"));
  const int64_t b = store.add_run(run_for("s8"));
  store.put_measurement(row("tx2", "ir_k3_e3", 16, 0.1 + 0.2, a));  // not exactly representable
  store.put_measurement(row("tx2", "skip", 16, 1e-3, a));
  store.put_measurement(row("s8", "ir_k5_e6", 24, 1234.5678901234567, b));
  store.put_correction({"tx2", "small", "2026-11-21T11:00:00Z", 1.0625, -3.25, 30, 0.12, 0.04});
}

TEST(LutIo, CsvAndJsonRoundTripExactly) {
  TempDir dir;
  LutStore original(dir.file("a.db"), OpenMode::kCreate);
  fill_example(original);
  for (const bool as_json : {false, true}) {
    const std::string once = as_json ? export_lut_json(original) : export_lut_csv(original);
    LutStore copy(dir.file(as_json ? "b.db" : "c.db"), OpenMode::kCreate);
    const ImportSummary summary =
        as_json ? import_lut_json(copy, once, "x.json") : import_lut_csv(copy, once, "x.csv");
    EXPECT_EQ(summary.measurements, 3u);
    EXPECT_EQ(summary.runs, 2u);
    EXPECT_EQ(as_json ? export_lut_json(copy) : export_lut_csv(copy), once) << (as_json ? "json" : "csv");
    EXPECT_EQ(copy.medians("tx2", {}), original.medians("tx2", {}));
  }
  const std::string only_s8 = export_lut_csv(original, "s8");
  EXPECT_EQ(std::count(only_s8.begin(), only_s8.end(), '\n'), 2);
  const std::vector<RunRecord> runs = original.runs();
  EXPECT_EQ(runs[0].rounds, 5);
  EXPECT_NE(runs[0].conditions.find("schedutil"), std::string::npos);

  // An export written before rounds (38 columns) still imports: 1 round, no conditions.
  std::istringstream lines(only_s8);
  std::string old_csv, line;
  while (std::getline(lines, line)) {
    for (int i = 0; i < 3; ++i) line = line.substr(0, line.rfind(','));
    old_csv += line + "\n";
  }
  LutStore from_old(dir.file("old.db"), OpenMode::kCreate);
  EXPECT_EQ(import_lut_csv(from_old, old_csv, "old.csv").measurements, 1u);
  EXPECT_EQ(from_old.measurements()[0].stats.rounds, 1);
  EXPECT_EQ(from_old.runs()[0].conditions, "{}");
}

TEST(LutIo, CorruptRowsNameFileLineAndFieldAndWriteNothing) {
  TempDir dir;
  LutStore source(dir.file("a.db"), OpenMode::kCreate);
  fill_example(source);
  const std::string csv = export_lut_csv(source);
  LutStore target(dir.file("b.db"), OpenMode::kCreate);
  auto line_start = [&](int line) {
    size_t pos = 0;
    for (int i = 1; i < line; ++i) pos = csv.find('\n', pos) + 1;
    return pos;
  };
  // Row 3 (file line 3) with a non-numeric median.
  std::string bad_number = csv;
  const size_t third = line_start(3);
  const size_t median_at = [&] {
    size_t pos = third;
    for (int comma = 0; comma < 13; ++comma) pos = bad_number.find(',', pos) + 1;
    return pos;
  }();
  bad_number.replace(median_at, bad_number.find(',', median_at) - median_at, "fast");
  EXPECT_EQ(error_of([&] { import_lut_csv(target, bad_number, "rows.csv"); }),
            "rows.csv:3: median_us: expected a number >= 0, got 'fast'");
  std::string truncated = csv.substr(0, line_start(4)) + "tx2,Jetson TX2,skip\n";
  EXPECT_EQ(error_of([&] { import_lut_csv(target, truncated, "rows.csv"); }), "rows.csv:4: expected 41 fields, got 3");
  std::string edited_key = csv;
  edited_key.replace(edited_key.find("|in=1x16x8x8"), 12, "|in=1x99x8x8");
  EXPECT_EQ(error_of([&] { import_lut_csv(target, edited_key, "rows.csv"); }), "rows.csv:3: key 'ir_k3_e3|in=1x99x8x8|out=16|s=1|fp32|nchw' does not match its fields (expected 'ir_k3_e3|in=1x16x8x8|out=16|s=1|fp32|nchw')");
  EXPECT_EQ(error_of([&] { import_lut_csv(target, "a,b\n", "rows.csv"); }).rfind("rows.csv:1: unexpected header", 0), 0u);
  EXPECT_EQ(error_of([&] { import_lut_json(target, "{\"format\": \"dnas-lut/2\"}", "t.json"); }),
            "t.json: format: expected \"dnas-lut/1\", got \"dnas-lut/2\"");
  EXPECT_TRUE(target.measurements().empty());  // all-or-nothing
  EXPECT_TRUE(target.runs().empty());
}

TargetSpec test_target() {
  TargetSpec t;
  t.name = "toy";
  t.device = "toy device";
  t.peak_gflops = {{"fp32", 100}};
  t.memory_bandwidth_gbs = 10;
  t.compute_efficiency = 0.5;
  t.memory_efficiency = 0.5;
  t.per_op_overhead_us = 5;
  t.origin = "toy.yaml";
  return t;
}

TEST(Roofline, ComputeAndMemoryBoundHandComputed) {
  const TargetSpec t = test_target();
  BlockCost compute_bound;
  compute_bound.macs = 50'000'000;            // 1e8 FLOP / (100 GFLOP/s * 0.5) = 2000 us
  compute_bound.activation_elements = 1000;   // 4e3 bytes: 0.8 us
  EXPECT_NEAR(roofline_estimate_us(compute_bound, {1, 1, 1}, t, {}), 2000 + 5, 1e-9);
  BlockCost memory_bound;
  memory_bound.macs = 1000;
  memory_bound.activation_elements = 1'000'000;  // 4e6 bytes / (10 GB/s * 0.5) = 800 us
  memory_bound.params = 250'000;                 // + 1e6 bytes = 200 us
  EXPECT_NEAR(roofline_estimate_us(memory_bound, {1, 1, 1}, t, {}), 1000 + 5, 1e-9);
  BlockCost identity;
  identity.activation_elements = 16 * 8 * 8;
  EXPECT_EQ(roofline_estimate_us(identity, {16, 8, 8}, t, {}), 0.0);
}

TEST(Targets, BuiltinTargetsCarryReferenceFacts) {
  const TargetSpec tx1 = load_target("tx1");
  EXPECT_EQ(tx1.profile_device, "cuda");
  EXPECT_DOUBLE_EQ(tx1.peak_gflops_for("fp32"), 500);
  EXPECT_DOUBLE_EQ(tx1.peak_gflops_for("fp16"), 1000);
  EXPECT_DOUBLE_EQ(tx1.memory_bandwidth_gbs, 25.6);
  EXPECT_DOUBLE_EQ(load_target("xavier").memory_bandwidth_gbs, 137);
  EXPECT_DOUBLE_EQ(load_target("tx2").peak_gflops_for("fp16"), 1330);
  for (const char* name : {"host-cpu", "cuda", "tx1", "tx2", "xavier", "s8"}) EXPECT_NO_THROW(load_target(name));
  EXPECT_EQ(error_of([] { load_target("tx9"); }).rfind("unknown target 'tx9' (not a file; known targets: cuda, host-cpu, s8", 0), 0u);
}

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

TEST(LatencyTable, EstimatesWhenEmptyAndListsMissingKeysWhenPartial) {
  TempDir dir;
  const SearchSpace space = parse_space_text(kToySpace, "toy.yaml");
  const ResolvedSpace resolved = resolve_space(space);
  const TargetSpec target = test_target();

  const SpaceLatency estimated = LatencyTable(target, "", {}).for_space(resolved, "toy");
  EXPECT_TRUE(estimated.any_estimated);
  ASSERT_EQ(estimated.layers.size(), 3u);
  EXPECT_EQ(estimated.layers[0][1].us, 0.0);  // identity skip
  EXPECT_GT(estimated.layers[0][0].us, 5.0);

  // Measure only the stem: a partial table is an error naming every missing key and the fix.
  const std::string db = dir.file("partial.db");
  {
    LutStore store(db, OpenMode::kCreate);
    store.ensure_target("toy", "toy device");
    const int64_t run = store.add_run(run_for("toy"));
    MeasurementRow m;
    m.target = "toy";
    m.key = make_lut_key(OpRegistry::builtin().at("conv_k3", "t"), resolved.stem[0].args, {});
    m.stats = {42, 40, 44, 42, 1, 10};
    m.measured_at = "now";
    m.run_id = run;
    store.put_measurement(m);
  }
  const std::string message = error_of([&] { LatencyTable(target, db, {}).for_space(resolved, "toy"); });
  EXPECT_EQ(message.rfind(db + ": target toy has no measurement for 6 of 7 blocks: ir_k3_e3|in=1x8x8x8|out=8|s=1|fp32|nchw, ", 0), 0u) << message;
  EXPECT_NE(message.find("Measure them with: dnas profile-latency --space toy --target toy --db " + db), std::string::npos);
  const SpaceLatency mixed = LatencyTable(target, db, {}, /*estimate_missing=*/true).for_space(resolved, "toy");
  EXPECT_FALSE(mixed.stem[0].estimated);
  EXPECT_EQ(mixed.stem[0].us, 42);  // the measured row wins
  EXPECT_TRUE(mixed.layers[0][0].estimated);
}

TEST(Statistics, KendallTauErrorsAndLinearFit) {
  EXPECT_DOUBLE_EQ(kendall_tau_b({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(kendall_tau_b({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  EXPECT_NEAR(kendall_tau_b({1, 2, 3, 4, 5}, {3, 4, 1, 2, 5}), 0.2, 1e-12);  // 6 concordant, 4 discordant
  const ErrorStats e = error_stats({110, 90, 100}, {100, 100, 100});
  EXPECT_NEAR(e.mape, 0.1, 1e-12);
  EXPECT_NEAR(e.max_error, 0.1, 1e-12);
  const auto [scale, offset] = fit_linear({1, 2, 3, 4}, {5, 7, 9, 11});
  EXPECT_NEAR(scale, 2.0, 1e-12);
  EXPECT_NEAR(offset, 3.0, 1e-12);
}

TEST(Profiler, MeasuresEveryBlockOnceAndResumes) {
  TempDir dir;
  const SearchSpace space = parse_space_text(kToySpace, "toy.yaml");
  const auto blocks = enumerate_space_blocks(resolve_space(space), {});
  ASSERT_EQ(blocks.size(), 7u);  // conv, 2+2 candidates (layers 0 and 1 share keys), avgpool, fc
  const TargetSpec target = test_target();
  LutStore store(dir.file("p.db"), OpenMode::kCreate);
  ProfileOptions options;
  options.timing.warmup = 1;
  options.timing.repeats = 3;
  options.rounds.rounds = 2;
  const ProfilePlan plan = plan_profile(store, target, blocks, options);
  EXPECT_EQ(plan.pending.size(), 7u);
  size_t events = 0;
  const ProfileSummary summary = run_profile(store, target, plan, options, [&](const ProfileEvent&) { ++events; });
  EXPECT_EQ(summary.measured, 7u);
  EXPECT_EQ(events, 14u);  // one per block and round
  const auto rows = store.measurements("toy");
  ASSERT_EQ(rows.size(), 7u);
  for (const MeasurementRow& m : rows) {
    EXPECT_EQ(m.stats.repeats, 6);
    EXPECT_EQ(m.stats.rounds, 2);
    EXPECT_LE(m.stats.p10_us, m.stats.median_us);
    EXPECT_LE(m.stats.median_us, m.stats.p90_us);
  }
  EXPECT_FALSE(store.runs()[0].finished_at.empty());
  // The table's first profile fixed the canary reference its rows are normalized to, in its run.
  EXPECT_TRUE(summary.new_reference);
  EXPECT_GT(summary.canary_reference_us, 0.0);
  EXPECT_EQ(store.canary_reference("toy", store.runs()[0].threads, "cpu", {}),
            std::optional<double>(summary.canary_reference_us));
  EXPECT_EQ(store.runs()[0].libtorch_version.substr(0, 1).find_first_of("12"), 0u);
  const ProfilePlan again = plan_profile(store, target, blocks, options);
  EXPECT_TRUE(again.pending.empty());
  EXPECT_EQ(again.already_measured, 7u);

  const SpaceLatency latency = LatencyTable(target, dir.file("p.db"), {}).for_space(resolve_space(space), "toy");
  EXPECT_FALSE(latency.any_estimated);
  EXPECT_EQ(time_arch_end_to_end(space.derive({"ir_k3_e3", "skip", "ir_k3_e3"}), std::nullopt, options.timing, 2).repeats, 6);
}

// A table profiled on a machine 10x slower than this one, its canary as fast: a later profile of
// more blocks into it re-times some of its rows and stores the new blocks in its units (10x what
// they time here), where the canary reference alone would store them as this machine times them.
TEST(Profiler, AReprofileTakesTheTablesUnitFromItsOwnRows) {
  TempDir dir;
  const SearchSpace space = parse_space_text(kToySpace, "toy.yaml");
  const auto blocks = enumerate_space_blocks(resolve_space(space), {});
  ASSERT_EQ(blocks.size(), 7u);
  const TargetSpec target = test_target();
  ProfileOptions options;
  options.timing.warmup = 1;
  options.timing.repeats = 5;
  options.rounds.rounds = 3;
  LutStore now(dir.file("now.db"), OpenMode::kCreate);  // every block as this machine times it
  run_profile(now, target, plan_profile(now, target, blocks, options), options, {});

  LutStore store(dir.file("p.db"), OpenMode::kCreate);
  const std::vector<BlockToTime> stored(blocks.begin() + 1, blocks.end() - 1);  // all but the stem conv and fc
  run_profile(store, target, plan_profile(store, target, stored, options), options, {});
  for (MeasurementRow row : store.measurements("toy")) {
    for (double* us : {&row.stats.median_us, &row.stats.p10_us, &row.stats.p90_us, &row.stats.mean_us, &row.stats.std_us})
      *us *= 10;
    store.put_measurement(row);
  }
  ProfileOptions canary_only = options;
  canary_only.anchors = 0;
  EXPECT_TRUE(plan_profile(store, target, blocks, canary_only).anchors.blocks.empty());
  ProfileOptions as_timed = options;
  as_timed.normalize = false;
  EXPECT_TRUE(plan_profile(store, target, blocks, as_timed).anchors.blocks.empty());

  const ProfilePlan plan = plan_profile(store, target, blocks, options);
  ASSERT_EQ(plan.pending.size(), 2u);
  ASSERT_EQ(plan.anchors.blocks.size(), 5u);  // fewer stored than kAnchors: all of them
  EXPECT_EQ(plan.block_rounds(3), 7u * 3);     // the anchors' rounds counted for progress
  size_t events = 0, anchor_events = 0;
  const ProfileSummary summary = run_profile(store, target, plan, options, [&](const ProfileEvent& e) {
    ++events;
    anchor_events += e.anchor;
    EXPECT_EQ(e.done, events);
    EXPECT_EQ(e.total, 21u);
  });
  EXPECT_EQ(events, 21u);
  EXPECT_EQ(anchor_events, 15u);
  EXPECT_GE(summary.anchors.anchors, 4u);  // a skip block may time as nothing: left out
  EXPECT_GT(summary.anchors.scale, 4.0);
  EXPECT_LT(summary.anchors.scale, 25.0);
  EXPECT_DOUBLE_EQ(summary.canary_reference_us, summary.table_reference_us * summary.anchors.scale);
  const auto here = now.medians("toy", {});
  const auto table = store.medians("toy", {});
  for (const BlockToTime& b : plan.pending) {
    EXPECT_GT(table.at(b.key.str()) / here.at(b.key.str()), 4.0) << b.key.str();
    EXPECT_LT(table.at(b.key.str()) / here.at(b.key.str()), 25.0) << b.key.str();
  }
  // The run records what it re-timed; the table's reference stays its first run's.
  const Json conditions = Json::parse(summary.conditions);
  EXPECT_EQ(conditions["canary"]["anchors"]["count"].get<size_t>(), summary.anchors.anchors);
  EXPECT_EQ(store.canary_reference("toy", store.runs()[0].threads, "cpu", {}),
            std::optional<double>(summary.table_reference_us));
}

}  // namespace
}  // namespace dnas

// End-to-end tests of `dnas profile-latency` and `dnas lut ...`: profiling, resume after SIGKILL,
// concurrent writers, export/import, validation, and the one-line errors for bad input.
#include <signal.h>
#include <sqlite3.h>

#include <chrono>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/version.h>

#include "tests/cli_harness.h"

namespace {

using namespace dnas::testing;
using nlohmann::json;
using CliLut = CliTest;

int64_t query_int(const std::string& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  int64_t value = -1;
  if (sqlite3_prepare_v2(handle, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
    value = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(handle);
  return value;
}

std::string integrity(const std::string& db) {
  sqlite3* handle = nullptr;
  sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  std::string result = "?";
  if (sqlite3_prepare_v2(handle, "PRAGMA integrity_check", -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
    result = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(handle);
  return result;
}

std::set<std::string> dry_run_keys(const std::string& args) {
  const Result r = run("profile-latency " + args + " --dry-run --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> keys;
  const json parsed = json::parse(r.out);  // keep it alive: iterating a temporary's member dangles
  for (const auto& row : parsed["to_measure"]) keys.insert(row["key"].get<std::string>());
  return keys;
}

// A canary threshold of 0.01% never settles on a real machine: with --retry-budget 0 nothing is
// re-measured, every spoiled block-round is kept as unsettled, and the run says so everywhere.
TEST_F(CliLut, AProfileThatSpendsItsRetryBudgetIsMarkedNoisyAndSaysWhy) {
  const std::string db = path("noisy.db");
  const Result profiled = run("profile-latency --space small --target host-cpu --db " + db +
                              " --repeats 1 --warmup 0 --rounds 2 --canary-threshold 0.0001 --retry-budget 0");
  ASSERT_EQ(profiled.exit_code, 0) << profiled.err;
  EXPECT_NE(profiled.err.find("is NOISY"), std::string::npos) << profiled.err;
  EXPECT_NE(profiled.err.find("the retry budget, 0 re-measures, was spent"), std::string::npos) << profiled.err;
  const json listed = json::parse(run("lut list --db " + db + " --json").out);
  const json& conditions = listed["runs"][0]["conditions"];
  EXPECT_EQ(conditions["canary"]["retry_budget"].get<int64_t>(), 0);
  EXPECT_EQ(conditions["canary"]["remeasured"].get<int64_t>(), 0);
  EXPECT_TRUE(conditions["noisy"].get<bool>());
  const Result list = run("lut list --db " + db);
  EXPECT_NE(list.out.find("never settled, retry budget spent)"), std::string::npos) << list.out;

  // A damaged table: canary fields of the wrong type read as absent, and `lut list` still lists it.
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(handle,
                         R"(UPDATE runs SET conditions = '{"noisy": true, "canary": {"remeasured": "x", )"
                         R"("retry_budget": null, "median_drift": [1], "unsettled": 3, "block_rounds": 4}}')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(handle);
  const Result damaged = run("lut list --db " + db);
  ASSERT_EQ(damaged.exit_code, 0) << damaged.err;
  EXPECT_NE(damaged.out.find("NOISY (75.0% of rounds never settled), canary +0"), std::string::npos) << damaged.out;
}

TEST_F(CliLut, ProfileListExportImportRoundTrip) {
  const std::string db = path("luts/host.db");  // the directory is created
  const Result dry = run("profile-latency --space small --target host-cpu --db " + db + " --dry-run --json");
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  const size_t blocks = json::parse(dry.out)["blocks"].get<size_t>();
  EXPECT_EQ(json::parse(dry.out)["to_measure"].size(), blocks);
  EXPECT_FALSE(fs::exists(db)) << "a dry run must not create the table";

  const Result profiled = run("profile-latency --space small --target host-cpu --db " + db + " --repeats 3 --warmup 1 --rounds 2 --json");
  ASSERT_EQ(profiled.exit_code, 0) << profiled.err;
  EXPECT_EQ(json::parse(profiled.out)["measured"].get<size_t>(), blocks);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM measurements"), static_cast<int64_t>(blocks));

  const Result again = run("profile-latency --space small --target host-cpu --db " + db + " --repeats 3 --warmup 1 --rounds 2 --json");
  EXPECT_EQ(json::parse(again.out)["measured"], 0);
  EXPECT_EQ(json::parse(again.out)["skipped"].get<size_t>(), blocks);

  const Result list = run("lut list --db " + db + " --space small --json");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  const json listed = json::parse(list.out);
  EXPECT_EQ(listed["coverage"][0]["measured"].get<size_t>(), blocks);
  EXPECT_EQ(listed["runs"][0]["libtorch_version"], TORCH_VERSION);  // the LibTorch dnas was built with
  EXPECT_FALSE(listed["runs"][0]["build_commit"].get<std::string>().empty());

  for (const char* ext : {"csv", "json"}) {
    const std::string exported = path(std::string("export.") + ext), copy = path(std::string("copy_") + ext + ".db");
    ASSERT_EQ(run("lut export --db " + db + " --out " + exported).exit_code, 0);
    const Result imported = run("lut import --db " + copy + " --in " + exported);
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    EXPECT_EQ(run("lut export --db " + copy + " --format " + ext).out, slurp(exported)) << ext;
  }
}

void exec_sql(const std::string& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(handle);
  sqlite3_close(handle);
}

// Strict rows: an import validates every row before writing any, and a table damaged after the
// fact is refused when read, naming the column and the key.
TEST_F(CliLut, ImportAndReadRefuseBadRows) {
  const std::string db = path("good.db");
  ASSERT_EQ(run("profile-latency --space small --target host-cpu --db " + db + " --repeats 1 --warmup 0 --rounds 2").exit_code, 0);
  const Result exported = run("lut export --db " + db + " --format csv");
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  std::vector<std::string> lines;
  std::istringstream in(exported.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_GE(lines.size(), 3u);
  auto with_field = [&](size_t column, const std::string& value) {  // row 1 with one field replaced
    std::vector<std::string> fields;
    std::istringstream row(lines[1]);
    for (std::string f; std::getline(row, f, ',');) fields.push_back(f);
    fields[column] = value;
    std::string out = lines[0] + "\n";
    for (size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + fields[i];
    return out + "\n";
  };
  auto import = [&](const std::string& name, const std::string& text) {
    const fs::path file = write_temp("dnas_lut_" + name + ".csv", text);
    const Result r = run("lut import --db " + path(name + ".db") + " --in " + file.string());
    fs::remove(file);
    EXPECT_FALSE(fs::exists(path(name + ".db"))) << name << ": a refused import leaves no table";
    return r;
  };
  expect_one_line_error(import("inf", with_field(13, "inf")), ": latencies must be positive and at most");
  expect_one_line_error(import("huge", with_field(13, "1e308")), ": latencies must be positive and at most");
  expect_one_line_error(import("order", with_field(14, "1e9")), ": expected p10 <= median <= p90");
  expect_one_line_error(import("header", lines[0] + "\n"), ": a header and no measurements");
  expect_one_line_error(import("twice", lines[0] + "\n" + lines[1] + "\n" + lines[1] + "\n"), "appears twice in this file");
  expect_one_line_error(import("nul", lines[0] + "\n" + lines[1] + std::string(1, '\0') + "\n"), ":2: a NUL byte");
  expect_one_line_error(import("utf8", lines[0] + "\n" + lines[1] + "\xff\n"), ":2: not valid UTF-8");

  exec_sql(db, "UPDATE measurements SET median_us = -50 WHERE rowid = (SELECT min(rowid) FROM measurements)");
  expect_one_line_error(run("lut export --db " + db + " --format csv"), "measurements.median_us of '");
  expect_one_line_error(run("search --space small --target host-cpu --db " + db + " --data synthetic:160 --batch-size 16 --out " + path("never")),
                        "is -50, expected a positive latency");
  exec_sql(db, "UPDATE measurements SET median_us = 'abc' WHERE median_us = -50");
  expect_one_line_error(run("lut export --db " + db + " --format csv"),
                        "damaged latency table: measurements.median_us of row 1 is 'abc', expected REAL");
  EXPECT_FALSE(fs::exists(path("never")));
  // Damage to the schema itself: a dropped column, a retyped one, an emptied runs table.
  exec_sql(db, "UPDATE measurements SET median_us = 5.0 WHERE median_us = 'abc'");
  ASSERT_EQ(run("lut export --db " + db + " --format csv").exit_code, 0);
  exec_sql(db, "DELETE FROM runs");
  expect_one_line_error(run("lut list --db " + db), "has no row in runs");
  exec_sql(db, "ALTER TABLE measurements DROP COLUMN std_us");
  expect_one_line_error(run("lut list --db " + db), "damaged latency table: measurements.std_us is missing");
}

TEST_F(CliLut, AProfilerKilledMidRoundResumesLosingAndRepeatingNothing) {
  const std::string db = path("killed.db");
  const int64_t rounds = 3;
  const std::string args = "profile-latency --space fbnet --target host-cpu --db " + db +
                           " --rounds 3 --repeats 2 --warmup 0 --canary-threshold 10";
  const int64_t total = static_cast<int64_t>(dry_run_keys("--space fbnet --target host-cpu --db " + db).size());
  const pid_t pid = spawn(args);
  // Kill it inside the second round: every block has one round stored, some have two.
  int64_t stored = 0;
  for (int i = 0; i < 1200 && stored < total + 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    if (fs::exists(db)) stored = query_int(db, "SELECT count(*) FROM round_samples");
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the profiler finished before it could be killed";
  EXPECT_EQ(integrity(db), "ok");
  const int64_t kept = query_int(db, "SELECT count(*) FROM round_samples");
  ASSERT_GT(kept, total);
  ASSERT_LT(kept, 2 * total) << "killed too late: the test means to kill it mid-round";
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM measurements"), 0);  // rows come with a block's last round
  const Result list = run("lut list --db " + db);
  EXPECT_NE(list.out.find("interrupted"), std::string::npos) << list.out;

  const Result resumed = run(args + " --json");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const json summary = json::parse(resumed.out);
  EXPECT_EQ(summary["measured"].get<int64_t>(), total);
  EXPECT_EQ(integrity(db), "ok");
  // Nothing lost: the killed run's rounds are still there and count; nothing repeated: every block
  // has exactly `rounds` rounds, numbered 0..rounds-1, and a row that says so.
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM round_samples WHERE run_id = 1"), kept);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM round_samples"), rounds * total);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM (SELECT key FROM round_samples GROUP BY key "
                          "HAVING count(*) != 3 OR count(DISTINCT round) != 3 OR max(round) != 2)"), 0);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM measurements WHERE rounds = 3"), total);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM measurements"), total);
}

TEST_F(CliLut, TwoProfilersWritingOneTableLoseNoRows) {
  const std::string db = path("shared.db");
  std::set<std::string> expected = dry_run_keys("--space small --target host-cpu --db " + db);
  for (const std::string& k : dry_run_keys("--space mixed --target host-cpu --db " + db)) expected.insert(k);
  const pid_t a = spawn("profile-latency --space small --target host-cpu --db " + db + " --repeats 2 --warmup 0 --rounds 2");
  const pid_t b = spawn("profile-latency --space mixed --target host-cpu --db " + db + " --repeats 2 --warmup 0 --rounds 2");
  int status_a = 0, status_b = 0;
  waitpid(a, &status_a, 0);
  waitpid(b, &status_b, 0);
  EXPECT_EQ(WEXITSTATUS(status_a), 0);
  EXPECT_EQ(WEXITSTATUS(status_b), 0);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM measurements"), static_cast<int64_t>(expected.size()));
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM runs"), 2);
  EXPECT_EQ(integrity(db), "ok");
}

// A table profiled in parts: the second profile re-times 8 of the first's rows in its rounds,
// records the scale they give beside the table's reference, and lut list shows both.
TEST_F(CliLut, AProfileIntoATableWithRowsReTimesEightOfThem) {
  const std::string db = path("parts.db");
  const std::string profile = "profile-latency --space small --target host-cpu --db " + db +
                              " --repeats 2 --warmup 0 --rounds 2 --json";
  const Result first = run(profile);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const json first_canary = json::parse(first.out)["conditions"]["canary"];
  EXPECT_FALSE(first_canary.contains("anchors"));  // the first profile fixes the reference
  const int64_t rows = query_int(db, "SELECT count(*) FROM measurements");
  exec_sql(db, "DELETE FROM round_samples WHERE key IN (SELECT key FROM measurements WHERE rowid % 2 = 0); "
               "DELETE FROM measurements WHERE rowid % 2 = 0");
  const int64_t kept = query_int(db, "SELECT count(*) FROM measurements");
  ASSERT_GE(kept, 8);
  const std::string dry_run = "profile-latency --space small --target host-cpu --db " + db + " --dry-run --json";
  const Result planned = run(dry_run);
  ASSERT_EQ(planned.exit_code, 0) << planned.err;
  EXPECT_EQ(json::parse(planned.out)["anchors"].size(), 8u);
  const Result none = run(dry_run + " --anchors 0");
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_TRUE(json::parse(none.out)["anchors"].empty());
  const Result second = run(profile);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const json s = json::parse(second.out);
  EXPECT_EQ(s["measured"].get<int64_t>(), rows - kept);
  const json& canary = s["conditions"]["canary"];
  EXPECT_EQ(canary["anchors"]["count"].get<int>(), 8);
  EXPECT_EQ(canary["anchors"]["table_reference_us"], first_canary["reference_us"]);
  EXPECT_NEAR(canary["reference_us"].get<double>(),
              first_canary["reference_us"].get<double>() * canary["anchors"]["scale"].get<double>(), 1e-9);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM measurements"), rows);
  const Result list = run("lut list --db " + db);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("8 stored rows re-timed: x"), std::string::npos) << list.out;
}

TEST_F(CliLut, ValidateReportsErrorAndRankCorrelation) {
  const std::string db = path("v.db");
  ASSERT_EQ(run("profile-latency --space small --target host-cpu --db " + db + " --repeats 5 --warmup 1 --rounds 2").exit_code, 0);
  const Result r = run("lut validate --db " + db + " --target host-cpu --space small --archs 6 --repeats 5 --warmup 1 --rounds 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json v = json::parse(r.out);
  EXPECT_EQ(v["archs"].size(), 6u);
  EXPECT_GE(v["mape"].get<double>(), 0.0);
  EXPECT_LE(v["kendall_tau"].get<double>(), 1.0);
  EXPECT_FALSE(v["estimated"].get<bool>());
  EXPECT_TRUE(v["correction"]["stored"].get<bool>());
  EXPECT_EQ(v["rounds"].get<int>(), 2);
  EXPECT_GE(v["noise_floor"].get<double>(), 0.0);
  EXPECT_GT(v["canary"]["baseline_us"].get<double>(), 0.0);
  // Networks timed in the table's units: 8 of its rows re-timed, the reference scaled by them.
  EXPECT_EQ(v["anchors"]["count"].get<int>(), 8);
  EXPECT_NEAR(v["canary"]["reference_us"].get<double>(),
              v["anchors"]["table_reference_us"].get<double>() * v["anchors"]["scale"].get<double>(), 1e-9);
  EXPECT_LE(v["anchors"]["min_ratio"].get<double>(), v["anchors"]["scale"].get<double>());
  EXPECT_GE(v["anchors"]["max_ratio"].get<double>(), v["anchors"]["scale"].get<double>());
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM corrections"), 1);
  const Result canary_only = run("lut validate --db " + db + " --target host-cpu --space small --archs 4 --repeats 2 "
                                 "--warmup 0 --rounds 2 --no-store --anchors 0 --json");
  ASSERT_EQ(canary_only.exit_code, 0) << canary_only.err;
  EXPECT_TRUE(json::parse(canary_only.out)["anchors"].is_null());
  EXPECT_EQ(json::parse(canary_only.out)["canary"]["reference_us"], v["anchors"]["table_reference_us"]);
  // A target whose default table does not exist yet predicts from labelled estimates.
  const Result estimated = run("lut validate --target tx2 --space small --archs 4 --repeats 2 --warmup 0 --rounds 2 --device cpu --json");
  ASSERT_EQ(estimated.exit_code, 0) << estimated.err;
  EXPECT_TRUE(json::parse(estimated.out)["estimated"].get<bool>());
  EXPECT_FALSE(json::parse(estimated.out)["correction"]["stored"].get<bool>());  // nowhere to store it
  // profile-latency's drift guard, settable here too: with no budget nothing is timed again.
  const Result no_budget = run("lut validate --target tx2 --space small --archs 4 --repeats 2 --warmup 0 --rounds 2 "
                               "--device cpu --no-store --retry-budget 0 --canary-threshold 0.01 --json");
  ASSERT_EQ(no_budget.exit_code, 0) << no_budget.err;
  EXPECT_EQ(json::parse(no_budget.out)["canary"]["remeasured"].get<int64_t>(), 0);
  expect_one_line_error(run("lut validate --target tx2 --space small --archs 4 --device cpu --canary-threshold 0"),
                        "--canary-threshold: expected a value in (0, 10], got 0");
  expect_one_line_error(run("lut validate --db " + path("typo.db") + " --target host-cpu --space small --archs 4"),
                        "typo.db: no such latency table");
}

TEST_F(CliLut, PeersTablesImportOnlyWhenEveryKeyMaps) {
  const fs::path good = write_temp("dnas_peer_good.yaml",
                                   "expanded_conv-input:56x56x24-output:56x56x24-expand:3-kernel:5-stride:1-idskip:1:\n"
                                   "  mean: 1.25\n  std: 0.05\n");
  const fs::path bad = write_temp("dnas_peer_bad.yaml", "Logits: 0.3\nConv: {mean: 2.0}\n");
  const std::string db = path("peer.db");
  expect_one_line_error(run("lut import --db " + db + " --in " + good.string() + " --format proxyless"),
                        "--target: required with --format proxyless");
  expect_one_line_error(run("lut import --db " + db + " --in " + bad.string() + " --format proxyless --target pixel1"),
                        "2 of 2 keys have no dnas block, so nothing was imported");
  EXPECT_FALSE(fs::exists(db));  // a failed import leaves nothing behind
  ASSERT_EQ(run("lut import --db " + db + " --in " + good.string() + " --format proxyless --target pixel1").exit_code, 0);
  const json list = json::parse(run("lut list --db " + db + " --json").out);
  EXPECT_EQ(list["runs"][0]["source"], "import:proxyless");
  EXPECT_EQ(list["runs"][0]["target"], "pixel1");
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM measurements WHERE key = 'ir_k5_e3{act=relu6}|in=1x24x56x56|out=24|s=1|"
                          "fp32|nchw' AND median_us = 1250"), 1);
  fs::remove(good);
  fs::remove(bad);
}

TEST_F(CliLut, ProfileAnArchThenBenchItAgainstThePrediction) {
  const std::string db = path("arch.db");
  const Result profiled = run("profile-latency --arch squeezenet1_1 --input 64 --target host-cpu --db " + db +
                              " --repeats 3 --warmup 1 --rounds 2 --json");
  ASSERT_EQ(profiled.exit_code, 0) << profiled.err;
  EXPECT_GT(json::parse(profiled.out)["measured"].get<int>(), 5);
  const Result bench = run("bench net --arch squeezenet1_1 --input 64 --target host-cpu --db " + db +
                           " --repeats 5 --warmup 1 --json");
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  const json b = json::parse(bench.out);
  EXPECT_GT(b["median_ms"].get<double>(), 0.0);
  EXPECT_LE(b["p10_ms"].get<double>(), b["median_ms"].get<double>());
  EXPECT_FALSE(b["prediction"]["estimated"].get<bool>());  // every block of the arch was measured
  EXPECT_GT(b["prediction"]["predicted_ms"].get<double>(), 0.0);
  // 8 of the arch's stored blocks re-timed beside it carry the measurement into the table's units.
  const json& anchors = b["prediction"]["anchors"];
  EXPECT_EQ(anchors["count"].get<int>(), 8);
  EXPECT_NEAR(anchors["measured_in_table_units_ms"].get<double>(),
              b["median_ms"].get<double>() * anchors["scale"].get<double>(), 1e-9);
  EXPECT_LE(anchors["min_ratio"].get<double>(), anchors["scale"].get<double>());
  EXPECT_GE(anchors["max_ratio"].get<double>(), anchors["scale"].get<double>());

  expect_one_line_error(run("bench net --repeats 2"), "give --arch (an arch or zoo model) or --model (TorchScript)");
  const fs::path junk = write_temp("dnas_not_torchscript.pt", "not a model");
  expect_one_line_error(run("bench net --model " + junk.string()), junk.string() + ": cannot load or run as TorchScript");
  fs::remove(junk);
  expect_one_line_error(run("profile-latency --target host-cpu --db " + db), "give exactly one of --space and --arch");
}

TEST_F(CliLut, BadInputGivesOneLineAndExitTwo) {
  const std::string db = path("t.db");
  expect_one_line_error(run("profile-latency --space small --target tx9 --db " + db), "unknown target 'tx9'");
  expect_one_line_error(run("profile-latency --space smal --target host-cpu --db " + db), "unknown search space 'smal'");
  expect_one_line_error(run("profile-latency --space small --target host-cpu --device tpu --db " + db),
                        "--device: expected device cpu or cuda, got 'tpu'");
  expect_one_line_error(run("profile-latency --space small --target host-cpu --device cuda --db " + db),
                        "--device: cuda requested, but no CUDA device is available");
  expect_one_line_error(run("profile-latency --space small --target tx1 --db " + db),
                        "target tx1 (profile_device cuda; profile it on the device itself");
  expect_one_line_error(run("profile-latency --space small --target host-cpu --dtype fp16 --db " + db),
                        "fp16 is not supported on CPU");
  EXPECT_FALSE(fs::exists(db)) << "failed commands must not create the table";

  const fs::path not_db = write_temp("dnas_not_a.db", "hello, I am a text file pretending to be a database");
  expect_one_line_error(run("lut list --db " + not_db.string()), not_db.string() + ": not a dnas latency table");
  expect_one_line_error(run("lut export --db " + path("missing.db")), "missing.db: no such latency table");

  const fs::path corrupt = write_temp("dnas_corrupt.csv", "target,key\nx,y\n");
  expect_one_line_error(run("lut import --db " + db + " --in " + corrupt.string()), corrupt.string() + ":1: unexpected header");
  expect_one_line_error(run("lut import --db " + db + " --in " + path("nothing.csv")), "nothing.csv: cannot read file");
  EXPECT_FALSE(fs::exists(db)) << "a failed import must not leave a new, empty table behind";
  EXPECT_FALSE(fs::exists(db + "-wal"));
  fs::remove(not_db);
  fs::remove(corrupt);

  // A partially measured target: the error lists the missing keys and the command to run.
  ASSERT_EQ(run("profile-latency --space small --target host-cpu --db " + db + " --repeats 1 --warmup 0 --rounds 2").exit_code, 0);
  expect_one_line_error(run("lut validate --db " + db + " --target host-cpu --space mixed --archs 4"),
                        "Measure them with: dnas profile-latency --space mixed --target host-cpu --db " + db);
  expect_one_line_error(run("lut export --db " + db + " --out " + path("no/such/dir/x.csv")),
                        "x.csv: cannot write (directory");
}

}  // namespace

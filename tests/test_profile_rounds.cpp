// The rounds schedule (rounds.h) with scripted timings, and the table's round storage: every round
// a permutation, each item timed exactly R times, the canary's re-measure replacing spoiled
// samples (right away, or in the make-up pass after the last round), the estimator's properties,
// and version-1 tables migrated in place.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>

#include "common/error.h"
#include "latency_lut/anchors.h"
#include "latency_lut/lut_store.h"
#include "latency_lut/rounds.h"

namespace dnas {
namespace {

namespace fs = std::filesystem;

TEST(Rounds, EveryRoundIsAPermutationAndEachItemIsTimedExactlyRTimes) {
  const size_t n = 17;
  RoundsOptions options;
  options.rounds = 5;
  options.seed = 42;
  std::vector<std::vector<size_t>> visits(static_cast<size_t>(options.rounds));
  std::map<size_t, int> timed;
  RoundsHooks hooks;
  hooks.time_item = [&](size_t i) {
    ++timed[i];
    return std::vector<double>{100.0 + static_cast<double>(i)};
  };
  hooks.time_canary = [] { return 50.0; };
  hooks.keep = [&](const ItemRound& r) { visits[static_cast<size_t>(r.round)].push_back(r.item); };
  hooks.sleep = [](double) {};
  const CanaryReport report = run_rounds(std::vector<int64_t>(n, options.rounds), options, hooks);
  EXPECT_EQ(report.item_rounds, static_cast<int64_t>(n) * options.rounds);
  EXPECT_EQ(report.remeasured, 0);
  EXPECT_EQ(report.unsettled, 0);
  std::set<std::vector<size_t>> distinct_orders;
  for (const std::vector<size_t>& round : visits) {
    std::vector<size_t> sorted = round;
    std::sort(sorted.begin(), sorted.end());
    std::vector<size_t> all(n);
    std::iota(all.begin(), all.end(), size_t{0});
    EXPECT_EQ(sorted, all);  // a permutation
    EXPECT_EQ(round, round_order(n, options.seed, static_cast<int64_t>(&round - visits.data())));
    distinct_orders.insert(round);
  }
  EXPECT_GE(distinct_orders.size(), 4u);  // each round has an order of its own
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(timed[i], options.rounds) << "item " << i;
  EXPECT_EQ(round_order(n, 42, 3), round_order(n, 42, 3));
  EXPECT_NE(round_order(n, 42, 3), round_order(n, 43, 3));
}

TEST(Rounds, ResumedItemsTakePartOnlyInTheRoundsTheyLack) {
  RoundsOptions options;
  options.rounds = 4;
  std::map<size_t, int> kept;
  RoundsHooks hooks;
  hooks.time_item = [](size_t) { return std::vector<double>{1.0}; };
  hooks.time_canary = [] { return 1.0; };
  hooks.keep = [&](const ItemRound& r) { ++kept[r.item]; };
  run_rounds({4, 0, 1, 3}, options, hooks);
  EXPECT_EQ(kept[0], 4);
  EXPECT_EQ(kept.count(1), 0u);
  EXPECT_EQ(kept[2], 1);
  EXPECT_EQ(kept[3], 3);
}

TEST(Rounds, ASlowCanaryReplacesTheSpoiledSamples) {
  RoundsOptions options;
  options.rounds = 2;
  options.canary_threshold = 0.1;
  options.max_retries = 3;
  // Item 1's first attempt in round 0 runs through a slow spell: the canary after it reads 2x.
  int canary_reads = 0, item1_attempts = 0;
  bool spell = false;
  std::vector<ItemRound> kept;
  std::vector<double> sleeps;
  RoundsHooks hooks;
  hooks.time_item = [&](size_t i) {
    if (i == 1 && item1_attempts++ == 0) {
      spell = true;
      return std::vector<double>{900.0, 950.0};  // spoiled samples
    }
    return std::vector<double>{100.0 + static_cast<double>(i), 101.0 + static_cast<double>(i)};
  };
  hooks.time_canary = [&] {
    ++canary_reads;
    const double us = spell ? 20.0 : 10.0;
    spell = false;
    return us;
  };
  hooks.keep = [&](const ItemRound& r) { kept.push_back(r); };
  hooks.sleep = [&](double s) { sleeps.push_back(s); };
  const CanaryReport report = run_rounds({2, 2, 2}, options, hooks);
  EXPECT_EQ(report.remeasured, 1);
  EXPECT_EQ(report.unsettled, 0);
  EXPECT_FALSE(report.noisy());
  EXPECT_DOUBLE_EQ(report.baseline_us, 10.0);
  EXPECT_DOUBLE_EQ(report.max_drift, 1.0);
  ASSERT_EQ(sleeps.size(), 1u);
  EXPECT_DOUBLE_EQ(sleeps[0], options.backoff_s);
  ASSERT_EQ(kept.size(), 6u);
  for (const ItemRound& r : kept) {
    EXPECT_TRUE(r.settled);
    for (double v : r.samples) EXPECT_LT(v, 200.0) << "spoiled samples kept for item " << r.item;
    if (r.item == 1 && r.round == 0) {
      EXPECT_EQ(r.attempts, 2);
    } else {
      EXPECT_EQ(r.attempts, 1);
    }
  }
}

TEST(Rounds, AMachineThatNeverSettlesIsNoisy) {
  RoundsOptions options;
  options.rounds = 3;
  options.max_retries = 2;
  options.retry_budget = 100;  // every retry allowed (the budget has a test of its own)
  int reads = 0;
  std::vector<ItemRound> kept;
  RoundsHooks hooks;
  hooks.time_item = [](size_t) { return std::vector<double>{5.0}; };
  // Fast for the baseline, then slow for good (a throttled device).
  hooks.time_canary = [&] { return ++reads <= 5 ? 10.0 : 30.0; };
  hooks.keep = [&](const ItemRound& r) { kept.push_back(r); };
  hooks.sleep = [](double) {};
  const CanaryReport report = run_rounds({3, 3}, options, hooks);
  EXPECT_EQ(report.item_rounds, 6);
  EXPECT_EQ(report.unsettled, 6);
  // max_retries in its round, then max_retries + 1 more in the make-up pass.
  EXPECT_EQ(report.remeasured, 6 * (2 * options.max_retries + 1));
  EXPECT_FALSE(report.budget_spent());
  EXPECT_TRUE(report.noisy());
  EXPECT_DOUBLE_EQ(report.unsettled_fraction(), 1.0);
  ASSERT_EQ(kept.size(), 6u);
  for (const ItemRound& r : kept) {
    EXPECT_FALSE(r.settled);
    EXPECT_EQ(r.attempts, 2 * (options.max_retries + 1));
  }
}

TEST(Rounds, TheRetryBudgetBoundsTheReMeasuresOfAMachineThatNeverSettles) {
  RoundsOptions options;
  options.rounds = 4;
  options.max_retries = 3;
  options.retry_budget = 0.5;
  int reads = 0;
  std::vector<ItemRound> kept;
  std::map<std::pair<size_t, int64_t>, int> kept_per_item_round;
  RoundsHooks hooks;
  hooks.time_item = [](size_t i) { return std::vector<double>{100.0 + static_cast<double>(i)}; };
  hooks.time_canary = [&] { return ++reads <= 5 ? 10.0 : 30.0; };  // slow for good after the baseline
  hooks.keep = [&](const ItemRound& r) {
    kept.push_back(r);
    ++kept_per_item_round[{r.item, r.round}];
  };
  hooks.sleep = [](double) {};
  // 5 items, one of which needs only 2 more rounds: 4 * 4 + 2 = 18 item-rounds, so 9 re-measures.
  const CanaryReport report = run_rounds({4, 4, 2, 4, 4}, options, hooks);
  EXPECT_EQ(report.retry_budget, 9);
  EXPECT_EQ(report.remeasured, 9);
  EXPECT_TRUE(report.budget_spent());
  EXPECT_EQ(report.item_rounds, 18);
  EXPECT_EQ(report.unsettled, 18);
  EXPECT_TRUE(report.noisy());
  // Every item-round is still kept exactly once, with the samples of its last attempt.
  ASSERT_EQ(kept.size(), 18u);
  for (const auto& [item_round, times] : kept_per_item_round) EXPECT_EQ(times, 1);
  int64_t attempts = 0;
  for (const ItemRound& r : kept) {
    attempts += r.attempts;
    EXPECT_EQ(r.samples, std::vector<double>{100.0 + static_cast<double>(r.item)});
  }
  EXPECT_EQ(attempts, 18 + 9);  // one attempt each, plus the budget
  // A budget of 0 never re-measures.
  options.retry_budget = 0;
  reads = 0;
  kept.clear();
  EXPECT_EQ(run_rounds({4, 4}, options, hooks).remeasured, 0);
  EXPECT_EQ(kept.size(), 8u);
}

TEST(Rounds, ASpellLongerThanTheRetriesIsWaitedOutAfterTheLastRound) {
  RoundsOptions options;
  options.rounds = 3;
  options.max_retries = 2;
  // Item 2's first round runs into a spell that lasts through all its retries: every canary
  // reading from its first attempt to its last reads 3x.
  int item2_attempts = 0, slow_reads_left = 0;
  std::vector<ItemRound> kept;
  RoundsHooks hooks;
  hooks.time_item = [&](size_t i) {
    if (i == 2 && item2_attempts++ == 0) slow_reads_left = 2 * static_cast<int>(options.max_retries) + 1;
    const double spoil = slow_reads_left > 0 ? 5.0 : 1.0;
    return std::vector<double>{spoil * (100.0 + static_cast<double>(i))};
  };
  hooks.time_canary = [&] {
    if (slow_reads_left > 0) return --slow_reads_left, 30.0;
    return 10.0;
  };
  hooks.keep = [&](const ItemRound& r) { kept.push_back(r); };
  hooks.sleep = [](double) {};
  const CanaryReport report = run_rounds({3, 3, 3, 3}, options, hooks);
  EXPECT_EQ(report.item_rounds, 12);
  EXPECT_EQ(report.unsettled, 0);
  EXPECT_FALSE(report.noisy());
  ASSERT_EQ(kept.size(), 12u);
  std::map<size_t, int> per_item;
  for (const ItemRound& r : kept) {
    ++per_item[r.item];
    EXPECT_TRUE(r.settled);
    for (double v : r.samples) EXPECT_LT(v, 200.0) << "spoiled samples kept for item " << r.item << ", round " << r.round;
  }
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(per_item[i], 3) << "item " << i;
  // The spoiled item-round is the last one kept: it was deferred to the make-up pass.
  EXPECT_EQ(kept.back().item, 2u);
  EXPECT_EQ(kept.back().round, 0);
  EXPECT_EQ(kept.back().attempts, options.max_retries + 2);
  // Its retries, one retry of the item after it (the reading before that one was slow), and the
  // make-up attempt.
  EXPECT_EQ(report.remeasured, options.max_retries + 2);
}

TEST(Rounds, TheEstimatorIgnoresAMinorityOfSlowRoundsAndKeepsItsSpread) {
  // Five rounds of ten samples: three quiet (~100 us with spikes), two in a 2x slow spell.
  std::vector<std::vector<double>> rounds;
  for (int r = 0; r < 5; ++r) {
    const double base = r == 1 || r == 3 ? 200.0 : 100.0;
    std::vector<double> samples;
    for (int i = 0; i < 10; ++i) samples.push_back(base + i + (i == 9 ? 500.0 : 0.0));
    rounds.push_back(samples);
  }
  const TimingStats stats = combine_rounds(rounds);
  EXPECT_EQ(stats.rounds, 5);
  EXPECT_EQ(stats.repeats, 50);
  EXPECT_NEAR(stats.median_us, 101.8, 1e-9);  // each quiet round's 20th percentile: 100 + 0.2 * 9
  EXPECT_LE(stats.p10_us, stats.median_us);
  EXPECT_GE(stats.p90_us, 200.0);
  EXPECT_GT(stats.std_us, 0.0);
  // The one-burst median the profiler stored before rounds lands in the spell's neighbourhood.
  std::vector<double> pooled;
  for (const auto& r : rounds) pooled.insert(pooled.end(), r.begin(), r.end());
  EXPECT_GE(summarize_samples(pooled).median_us, stats.median_us + 5);
  const TimingStats one = combine_rounds({{7.0}});
  EXPECT_DOUBLE_EQ(one.median_us, 7.0);
  EXPECT_DOUBLE_EQ(one.p10_us, 7.0);
  EXPECT_DOUBLE_EQ(one.p90_us, 7.0);
}

TEST(Rounds, NormalizingToTheCanaryCancelsAMachineThatRunsSlower) {
  // The same block timed on a quiet machine (canary 10 us) and, later, on one running 1.5x slower
  // for good (a throttled device): every sample and the canary after it read 1.5x.
  const std::vector<RoundSamples> quiet = {{{100, 104}, 10}, {{101, 103}, 10}, {{99, 102}, 10}};
  std::vector<RoundSamples> slow = quiet;
  for (RoundSamples& r : slow) {
    for (double& us : r.samples_us) us *= 1.5;
    r.canary_us *= 1.5;
  }
  const double reference = 10;
  EXPECT_NEAR(combine_normalized_rounds(slow, reference).median_us, combine_normalized_rounds(quiet, reference).median_us,
              1e-9);
  EXPECT_NEAR(combine_normalized_rounds(slow, reference).p90_us, combine_normalized_rounds(quiet, reference).p90_us, 1e-9);
  // As timed, they differ by the slow-down; without a reference samples are used as timed.
  EXPECT_NEAR(combine_rounds({{150, 156}, {151.5, 154.5}, {148.5, 153}}).median_us,
              1.5 * combine_normalized_rounds(quiet, reference).median_us, 1e-9);
  EXPECT_DOUBLE_EQ(combine_normalized_rounds(slow, 0).median_us,
                   combine_rounds({{150, 156}, {151.5, 154.5}, {148.5, 153}}).median_us);
  // One round timed in a spell whose canary read 2x is brought back in line before the median.
  std::vector<RoundSamples> spell = quiet;
  spell[1] = {{202, 206}, 20};
  EXPECT_NEAR(combine_normalized_rounds(spell, reference).median_us, combine_normalized_rounds(quiet, reference).median_us,
              1.0);
  // The reference a first profile fixes ignores one freak reading either way.
  std::vector<double> readings(kReferenceReadings, 82.0);
  readings[3] = 59, readings[7] = 120, readings[11] = 80, readings[12] = 81;
  EXPECT_GE(canary_reference_from(readings), 80.0);
  EXPECT_LE(canary_reference_from(readings), 82.0);
}

TEST(Rounds, OneFreakFastCanaryReadingDoesNotSpoilEveryLaterRound) {
  // The canary reads 80-84 us, except once 59 us (seen on this VM): a baseline at the fastest
  // reading ever would call every later reading 36% slow and retry every item-round to the limit.
  RoundsOptions options;
  options.rounds = 4;
  options.canary_threshold = 0.10;
  int reads = 0;
  RoundsHooks hooks;
  hooks.time_item = [](size_t i) { return std::vector<double>{100.0 + static_cast<double>(i)}; };
  hooks.time_canary = [&] {
    ++reads;
    return reads == 7 ? 59.0 : 80.0 + (reads % 5);
  };
  hooks.keep = [](const ItemRound&) {};
  hooks.sleep = [](double) {};
  const CanaryReport report = run_rounds(std::vector<int64_t>(30, 4), options, hooks);
  EXPECT_EQ(report.item_rounds, 120);
  EXPECT_LE(report.remeasured, 10);  // only while it is among the first 20 readings (kCanaryBaselinePercentile)
  EXPECT_EQ(report.unsettled, 0);
  EXPECT_FALSE(report.noisy());
  EXPECT_GE(report.baseline_us, 80.0);
}

// ---- storage ------------------------------------------------------------------------------

class RoundStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dnas_rounds_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // A new table `name` with target host-cpu on the CPU, and a profiling run of it with `threads`.
  LutStore host_cpu_store(const std::string& name) const {
    LutStore store(path(name), OpenMode::kCreate);
    store.ensure_target("host-cpu", "cpu");
    return store;
  }
  static RunRecord host_cpu_run(int64_t threads) {
    RunRecord run;
    run.target = "host-cpu";
    run.device = "cpu";
    run.threads = threads;
    return run;
  }
  fs::path dir_;
};

LutKey key_of(int64_t channels) {
  LutKey key;
  key.op = "ir_k3_e1";
  key.in_channels = channels;
  key.in_height = key.in_width = 8;
  key.out_channels = channels;
  return key;
}

TEST_F(RoundStore, RoundsResumeAndTheLastOneWritesTheRow) {
  LutStore store = host_cpu_store("t.db");
  RunRecord run = host_cpu_run(2);
  run.rounds = 3;
  const int64_t first = store.add_run(run);
  const std::string key = key_of(8).str();
  store.put_round({"host-cpu", key, first, 0, {10, 11}, 5, 1, true}, std::nullopt);
  store.put_round({"host-cpu", key, first, 1, {12.5, 10.25}, 5, 2, true}, std::nullopt);
  EXPECT_TRUE(store.measurements().empty());
  // A second run (the resume) with other threads does not see them; with the same threads it does.
  EXPECT_TRUE(store.rounds_measured_with("host-cpu", 1, "cpu").empty());
  const auto partial = store.rounds_measured_with("host-cpu", 2, "cpu");
  ASSERT_EQ(partial.at(key).size(), 2u);
  EXPECT_EQ(partial.at(key)[1], (RoundSamples{{12.5, 10.25}, 5}));  // exact round trip, canary too
  const int64_t second = store.add_run(run);
  std::vector<RoundSamples> all = partial.at(key);
  all.push_back({{9, 9.5}, 5});
  const TimingStats stats = combine_normalized_rounds(all, 5);
  store.put_round({"host-cpu", key, second, 2, {9, 9.5}, 5, 1, true},
                  MeasurementRow{"host-cpu", key_of(8), stats, "now", second});
  const std::vector<MeasurementRow> rows = store.measurements();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].stats.rounds, 3);
  EXPECT_EQ(rows[0].stats.repeats, 6);
  EXPECT_DOUBLE_EQ(rows[0].stats.median_us, stats.median_us);
  // The same round of the same run cannot be stored twice.
  EXPECT_THROW(store.put_round({"host-cpu", key, second, 2, {1}, 5, 1, true}, std::nullopt), Error);
}

TEST_F(RoundStore, TheCanaryReferenceIsTheFirstRunsWithTheSameSetting) {
  LutStore store = host_cpu_store("ref.db");
  RunRecord run = host_cpu_run(1);
  const LutSettings nchw;
  EXPECT_FALSE(store.canary_reference("host-cpu", 1, "cpu", nchw));
  store.set_run_conditions(store.add_run(run), R"({"canary": {"baseline_us": 70}})");  // before references
  store.set_run_conditions(store.add_run(run), "not json");
  EXPECT_FALSE(store.canary_reference("host-cpu", 1, "cpu", nchw));
  store.set_run_conditions(store.add_run(run), R"({"canary": {"reference_us": 81.5}})");
  store.set_run_conditions(store.add_run(run), R"({"canary": {"reference_us": 90}})");
  EXPECT_EQ(store.canary_reference("host-cpu", 1, "cpu", nchw), std::optional<double>(81.5));
  // Another thread count, device or layout times the canary differently: no reference yet.
  EXPECT_FALSE(store.canary_reference("host-cpu", 2, "cpu", nchw));
  EXPECT_FALSE(store.canary_reference("host-cpu", 1, "cuda:0", nchw));
  LutSettings nhwc;
  nhwc.memory_format = "nhwc";
  EXPECT_FALSE(store.canary_reference("host-cpu", 1, "cpu", nhwc));
  run.settings = nhwc;
  store.set_run_conditions(store.add_run(run), R"({"canary": {"reference_us": 60}})");
  EXPECT_EQ(store.canary_reference("host-cpu", 1, "cpu", nhwc), std::optional<double>(60));
  EXPECT_EQ(store.canary_reference("host-cpu", 1, "cpu", nchw), std::optional<double>(81.5));
}

TEST_F(RoundStore, AVersionOneTableIsMigratedInPlaceKeepingItsRows) {
  const std::string db = path("v1.db");
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  // The version-1 schema as 4126a11 wrote it, with one run and one row.
  const char* v1 = R"sql(
CREATE TABLE targets (name TEXT PRIMARY KEY, device TEXT NOT NULL);
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL REFERENCES targets(name),
  source TEXT NOT NULL, host TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
  libtorch_version TEXT NOT NULL, cuda_version TEXT NOT NULL, device TEXT NOT NULL, device_name TEXT NOT NULL,
  threads INTEGER NOT NULL, dtype TEXT NOT NULL, batch INTEGER NOT NULL, memory_format TEXT NOT NULL,
  warmup INTEGER NOT NULL, repeats INTEGER NOT NULL, build_commit TEXT NOT NULL, dnas_version TEXT NOT NULL,
  space TEXT NOT NULL, command TEXT NOT NULL);
CREATE TABLE measurements (target TEXT NOT NULL REFERENCES targets(name), key TEXT NOT NULL, op TEXT NOT NULL,
  variant TEXT NOT NULL, batch INTEGER NOT NULL, in_c INTEGER NOT NULL, in_h INTEGER NOT NULL, in_w INTEGER NOT NULL,
  out_c INTEGER NOT NULL, stride INTEGER NOT NULL, dtype TEXT NOT NULL, memory_format TEXT NOT NULL,
  median_us REAL NOT NULL, p10_us REAL NOT NULL, p90_us REAL NOT NULL, mean_us REAL NOT NULL, std_us REAL NOT NULL,
  repeats INTEGER NOT NULL, measured_at TEXT NOT NULL, run_id INTEGER NOT NULL REFERENCES runs(id),
  PRIMARY KEY (target, key));
CREATE TABLE corrections (target TEXT PRIMARY KEY REFERENCES targets(name), space TEXT NOT NULL, scale REAL NOT NULL,
  offset_us REAL NOT NULL, archs INTEGER NOT NULL, fitted_at TEXT NOT NULL, mape_raw REAL NOT NULL,
  mape_corrected REAL NOT NULL);
INSERT INTO targets VALUES ('host-cpu', 'cpu');
INSERT INTO runs VALUES (1, 'host-cpu', 'profile-latency', 'h', 's', 'f', '1.13', 'none', 'cpu', 'x', 2, 'fp32', 1,
  'nchw', 10, 50, 'abc', '0.1', 'small', 'dnas');
INSERT INTO measurements VALUES ('host-cpu', 'ir_k3_e1|in=1x8x8x8|out=8|s=1|fp32|nchw', 'ir_k3_e1', '', 1, 8, 8, 8,
  8, 1, 'fp32', 'nchw', 42, 40, 44, 42, 1, 50, 't', 1);
PRAGMA user_version = 1;
)sql";
  ASSERT_EQ(sqlite3_exec(handle, v1, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(handle);
  sqlite3_close(handle);

  const LutStore store(db, OpenMode::kExisting);
  const std::vector<MeasurementRow> rows = store.measurements();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_DOUBLE_EQ(rows[0].stats.median_us, 42);
  EXPECT_EQ(rows[0].stats.rounds, 1);
  ASSERT_EQ(store.runs().size(), 1u);
  EXPECT_EQ(store.runs()[0].rounds, 1);
  EXPECT_EQ(store.runs()[0].conditions, "{}");
  const LutStore again(db, OpenMode::kExisting);  // opening a migrated table changes nothing
  EXPECT_EQ(again.measurements().size(), 1u);
}


TEST(Anchors, ChosenEvenlyOverTheStoredLatenciesWithBothEnds) {
  const std::vector<std::string> keys = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
  std::map<std::string, double> stored;
  for (size_t i = 0; i < keys.size(); ++i) stored[keys[i]] = 100.0 - static_cast<double>(i);  // "a" dearest
  stored.erase("f");
  stored["z"] = 1;  // stored, but not among the keys: never chosen
  auto chosen = [&](size_t count) {
    std::string out;
    for (const AnchorPick& p : choose_anchors(keys, stored, count)) {
      out += keys[p.index];
      EXPECT_EQ(p.stored_us, stored.at(keys[p.index]));
    }
    return out;
  };
  EXPECT_EQ(chosen(4), "khda");  // 10 stored, cheapest first: k j i h g e d c b a
  EXPECT_EQ(chosen(2), "ka");
  EXPECT_EQ(chosen(1), "k");
  EXPECT_EQ(chosen(10), "kjihgedcba");
  EXPECT_EQ(chosen(50), "kjihgedcba");
  EXPECT_EQ(chosen(0), "");
  for (size_t count = 2; count <= 10; ++count) {
    const std::string c = chosen(count);
    EXPECT_EQ(c.size(), count);
    EXPECT_EQ(std::set<char>(c.begin(), c.end()).size(), count) << c;  // distinct
    EXPECT_EQ(c.front(), 'k');
    EXPECT_EQ(c.back(), 'a');
  }
  stored["a"] = std::nan("");
  stored["b"] = 0;
  EXPECT_EQ(chosen(50), "kjihgedc");  // unusable rows are not anchors
  EXPECT_TRUE(choose_anchors(keys, {}, 8).empty());
}

// The case anchors are for: the machine's blocks run 10% faster than when the table was
// profiled, its canary 20% faster. Normalized by the canary alone, a new block lands 12.5% above
// its value in the table's units; through the anchors, on it.
TEST(Anchors, ScaleCarriesAMachineWhoseCanaryDriftedUnlikeItsBlocks) {
  const double reference = 100, canary_now = 80, blocks_now = 0.9;
  const std::vector<double> stored = {50, 200, 400};
  std::vector<std::vector<RoundSamples>> rounds;
  for (double us : stored)
    rounds.push_back({{{blocks_now * us}, canary_now}, {{blocks_now * us}, canary_now}});
  rounds.push_back({});  // an anchor with no round: left out
  const AnchorScale scale = anchor_scale({50, 200, 400, 300}, rounds, reference);
  EXPECT_EQ(scale.anchors, 3u);
  EXPECT_NEAR(scale.scale, canary_now / (blocks_now * reference), 1e-12);
  EXPECT_NEAR(scale.min_ratio, scale.scale, 1e-12);
  EXPECT_NEAR(scale.max_ratio, scale.scale, 1e-12);
  const std::vector<RoundSamples> new_block = {{{blocks_now * 300}, canary_now}};  // 300 us in the table's units
  EXPECT_NEAR(combine_normalized_rounds(new_block, reference * scale.scale).median_us, 300, 1e-9);
  EXPECT_NEAR(combine_normalized_rounds(new_block, reference).median_us, 337.5, 1e-9);
  // One anchor that drifted its own way moves the median, not the scale's spread alone.
  rounds[0] = {{{50}, canary_now}};
  const AnchorScale odd = anchor_scale({50, 200, 400}, rounds, reference);
  EXPECT_NEAR(odd.scale, canary_now / (blocks_now * reference), 1e-12);
  EXPECT_NEAR(odd.min_ratio, 0.8, 1e-12);
  EXPECT_EQ(anchor_scale({}, {}, reference).anchors, 0u);
  EXPECT_EQ(anchor_scale({}, {}, reference).scale, 1.0);
}

}  // namespace
}  // namespace dnas

// The latency lookup table on disk: an SQLite database (schema version in PRAGMA user_version,
// WAL mode, every write in a transaction, bound parameters only) holding
//   targets       name, device description;
//   runs          one profiling session or import each, with provenance: host, times, LibTorch
//                 and CUDA versions, device name, threads, dtype, batch, memory format, warm-up,
//                 repeats and rounds, dnas build commit and version, space, command line, source,
//                 and the conditions it ran in (JSON: host_conditions.h, plus the drift canary's
//                 figures, its reference, and whether the run was noisy);
//   measurements  one row per (target, canonical key; see lut_key.h): the key's fields and the
//                 latency in microseconds (median_us: the rounds estimator of rounds.h over
//                 canary-normalized samples; 1 round for tables profiled before rounds) with
//                 p10 / p90 / mean / std over all samples, repeat and round counts, time, run id;
//   round_samples every round of every block still being or already profiled: its timed samples,
//                 the canary after it, attempts, whether it settled. A block's measurement is
//                 written with its last round, in one transaction, so a killed profiler resumes
//                 where it stopped and never counts a round twice;
//   corrections   a per-target linear fit (measured = scale * predicted + offset) from validation.
// Version 1 tables (without rounds) are migrated in place when opened.
// Opening a file that is not SQLite, is another application's database, or has another schema
// version throws dnas::Error saying which.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "latency_lut/lut_key.h"
#include "latency_lut/sqlite_db.h"

namespace dnas {

inline constexpr int kLutSchemaVersion = 2;

struct TimingStats {
  double median_us = 0, p10_us = 0, p90_us = 0, mean_us = 0, std_us = 0;
  int64_t repeats = 0;  // timed iterations, all rounds together
  int64_t rounds = 1;
};

struct RunRecord {
  int64_t id = 0;
  std::string target;
  std::string source = "profile-latency";  // or "import:csv", "import:json"
  std::string host, started_at, finished_at;
  std::string libtorch_version, cuda_version, device, device_name;
  int64_t threads = 0;
  LutSettings settings;
  int64_t warmup = 0, repeats = 0;  // per round
  int64_t rounds = 1;
  std::string build_commit, dnas_version, space, command;
  std::string conditions = "{}";  // JSON
};

// One stored round's timed samples and the canary reading after them (what a resume continues from).
struct RoundSamples {
  std::vector<double> samples_us;
  double canary_us = 0;
  bool operator==(const RoundSamples& o) const { return samples_us == o.samples_us && canary_us == o.canary_us; }
};

// One round of one block (see round_samples above).
struct RoundRow {
  std::string target, key;
  int64_t run_id = 0, round = 0;
  std::vector<double> samples_us;
  double canary_us = 0;
  int64_t attempts = 1;
  bool settled = true;
};

struct MeasurementRow {
  std::string target;
  LutKey key;
  TimingStats stats;
  std::string measured_at;
  int64_t run_id = 0;
};

struct TargetRow {
  std::string name;
  std::string device;
  int64_t measurements = 0;
};

struct Correction {
  std::string target, space, fitted_at;
  double scale = 1, offset_us = 0;
  int64_t archs = 0;
  double mape_raw = 0, mape_corrected = 0;
};

enum class OpenMode { kCreate, kExisting };

class LutStore {
 public:
  LutStore(const std::string& path, OpenMode mode);
  const std::string& path() const { return db_->path(); }

  void ensure_target(const std::string& name, const std::string& device);
  int64_t add_run(const RunRecord& run);
  void finish_run(int64_t run_id, const std::string& finished_at);
  // Insert or replace one row, in its own transaction (a killed profiler loses at most the block
  // it was timing).
  void put_measurement(const MeasurementRow& row);
  // Store one round and, when it completes the block, its measurement, in one transaction.
  void put_round(const RoundRow& round, const std::optional<MeasurementRow>& completed);
  // Every stored round's samples and canary by key, for `target`'s blocks profiled by runs with
  // these threads and device (what a resumed profile continues from).
  std::map<std::string, std::vector<RoundSamples>> rounds_measured_with(const std::string& target, int64_t threads,
                                                                       const std::string& device) const;
  // The canary reference of `target`'s timings with these threads, device and settings: the
  // `canary.reference_us` of the first run that recorded one in its conditions (rounds.h:
  // timings are normalized to it), or none.
  std::optional<double> canary_reference(const std::string& target, int64_t threads, const std::string& device,
                                         const LutSettings& settings) const;
  void set_run_conditions(int64_t run_id, const std::string& conditions_json);

  std::vector<TargetRow> targets() const;
  std::vector<RunRecord> runs(const std::string& target = "") const;
  std::vector<MeasurementRow> measurements(const std::string& target = "") const;  // by target, key
  // Median latency by key string, for one target and settings.
  std::map<std::string, double> medians(const std::string& target, const LutSettings& settings) const;
  // Keys already measured for `target` by runs with these threads and device (resume).
  std::set<std::string> keys_measured_with(const std::string& target, int64_t threads, const std::string& device) const;
  // Every (batch, dtype, memory format) that has rows for `target`, with its row count, in order.
  std::vector<std::pair<LutSettings, int64_t>> settings_measured(const std::string& target) const;

  void put_correction(const Correction& correction);
  std::optional<Correction> correction(const std::string& target) const;

  SqliteDb& db() { return *db_; }

 private:
  void open_schema(OpenMode mode);
  // Every table has the columns and types this version writes, every value has its column's type,
  // and every measurement's run is recorded; otherwise an Error naming the table, the column and
  // the first bad row (a table edited or damaged outside dnas).
  void check_tables() const;
  void migrate_from_version_1();
  std::unique_ptr<SqliteDb> db_;
};

// ISO-8601 UTC, e.g. "2026-11-21T14:52:03Z".
std::string utc_now();

}  // namespace dnas

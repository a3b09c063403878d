#include "latency_lut/lut_store.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <vector>

#include "common/error.h"

namespace dnas {
namespace {

const char* kSchema = R"sql(
CREATE TABLE targets (
  name TEXT PRIMARY KEY,
  device TEXT NOT NULL
);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  target TEXT NOT NULL REFERENCES targets(name),
  source TEXT NOT NULL,
  host TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  libtorch_version TEXT NOT NULL,
  cuda_version TEXT NOT NULL,
  device TEXT NOT NULL,
  device_name TEXT NOT NULL,
  threads INTEGER NOT NULL,
  dtype TEXT NOT NULL,
  batch INTEGER NOT NULL,
  memory_format TEXT NOT NULL,
  warmup INTEGER NOT NULL,
  repeats INTEGER NOT NULL,
  build_commit TEXT NOT NULL,
  dnas_version TEXT NOT NULL,
  space TEXT NOT NULL,
  command TEXT NOT NULL,
  rounds INTEGER NOT NULL DEFAULT 1,
  conditions TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE measurements (
  target TEXT NOT NULL REFERENCES targets(name),
  key TEXT NOT NULL,
  op TEXT NOT NULL,
  variant TEXT NOT NULL,
  batch INTEGER NOT NULL,
  in_c INTEGER NOT NULL,
  in_h INTEGER NOT NULL,
  in_w INTEGER NOT NULL,
  out_c INTEGER NOT NULL,
  stride INTEGER NOT NULL,
  dtype TEXT NOT NULL,
  memory_format TEXT NOT NULL,
  median_us REAL NOT NULL,
  p10_us REAL NOT NULL,
  p90_us REAL NOT NULL,
  mean_us REAL NOT NULL,
  std_us REAL NOT NULL,
  repeats INTEGER NOT NULL,
  measured_at TEXT NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  rounds INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (target, key)
);
CREATE TABLE corrections (
  target TEXT PRIMARY KEY REFERENCES targets(name),
  space TEXT NOT NULL,
  scale REAL NOT NULL,
  offset_us REAL NOT NULL,
  archs INTEGER NOT NULL,
  fitted_at TEXT NOT NULL,
  mape_raw REAL NOT NULL,
  mape_corrected REAL NOT NULL
);
)sql";

// Version 2's new table, created with the schema and by the migration from version 1.
const char* kRoundSamplesTable = R"sql(
CREATE TABLE round_samples (
  target TEXT NOT NULL REFERENCES targets(name),
  key TEXT NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  round INTEGER NOT NULL,
  samples_us TEXT NOT NULL,
  canary_us REAL NOT NULL,
  attempts INTEGER NOT NULL,
  settled INTEGER NOT NULL,
  PRIMARY KEY (target, key, run_id, round)
);
)sql";

// What else version 2 added to a version 1 table.
const char* kMigrationFrom1 = R"sql(
ALTER TABLE runs ADD COLUMN rounds INTEGER NOT NULL DEFAULT 1;
ALTER TABLE runs ADD COLUMN conditions TEXT NOT NULL DEFAULT '{}';
ALTER TABLE measurements ADD COLUMN rounds INTEGER NOT NULL DEFAULT 1;
)sql";

// Every table of this version, in an empty database.
void create_schema(SqliteDb& db) {
  db.exec(kSchema);
  db.exec(kRoundSamplesTable);
}

const char* kMeasurementColumns =
    "target, key, op, variant, batch, in_c, in_h, in_w, out_c, stride, dtype, memory_format, median_us, p10_us, "
    "p90_us, mean_us, std_us, repeats, measured_at, run_id, rounds";

// Samples as stored in round_samples.samples_us: shortest round-trip decimal, space-separated.
std::string join_samples(const std::vector<double>& samples) {
  std::string out;
  char buffer[32];
  for (double v : samples) {
    const auto r = std::to_chars(buffer, buffer + sizeof buffer, v);
    if (!out.empty()) out += ' ';
    out.append(buffer, r.ptr);
  }
  return out;
}

std::vector<double> split_samples(const std::string& text, const std::string& key, const std::string& path) {
  std::vector<double> out;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    double v = 0;
    const auto r = std::from_chars(p, end, v);
    DNAS_CHECK(r.ec == std::errc() && std::isfinite(v) && v > 0, path, ": round_samples.samples_us of '", key,
               "' is not a list of positive numbers (a damaged table)");
    out.push_back(v);
    p = r.ptr;
    while (p < end && *p == ' ') ++p;
  }
  return out;
}

// A latency read back from the table: a number, finite and positive, or the table is damaged (an
// edited or half-migrated file); the error names the table, the column and the row's key.
double latency_column(const SqliteStatement& s, int index, const char* column, const std::string& key,
                      const std::string& path) {
  DNAS_CHECK(s.column_is_number(index), path, ": measurements.", column, " of '", key, "' is '", s.column_text(index),
             "', not a number (a damaged table)");
  const double value = s.column_double(index);
  DNAS_CHECK(std::isfinite(value) && value > 0, path, ": measurements.", column, " of '", key, "' is ", value,
             ", expected a positive latency in microseconds (a damaged table)");
  return value;
}

MeasurementRow read_measurement(const SqliteStatement& s, const std::string& path) {
  MeasurementRow row;
  row.target = s.column_text(0);
  row.key.op = s.column_text(2);
  row.key.variant = s.column_text(3);
  row.key.batch = s.column_int(4);
  row.key.in_channels = s.column_int(5);
  row.key.in_height = s.column_int(6);
  row.key.in_width = s.column_int(7);
  row.key.out_channels = s.column_int(8);
  row.key.stride = s.column_int(9);
  row.key.dtype = s.column_text(10);
  row.key.memory_format = s.column_text(11);
  const std::string key = s.column_text(1);
  row.stats = {latency_column(s, 12, "median_us", key, path), latency_column(s, 13, "p10_us", key, path),
               latency_column(s, 14, "p90_us", key, path), latency_column(s, 15, "mean_us", key, path),
               s.column_double(16), s.column_int(17)};
  row.measured_at = s.column_text(18);
  row.run_id = s.column_int(19);
  row.stats.rounds = s.column_int(20);
  return row;
}

}  // namespace

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

LutStore::LutStore(const std::string& path, OpenMode mode) {
  if (mode == OpenMode::kExisting) {
    std::error_code ec;
    DNAS_CHECK(std::filesystem::is_regular_file(path, ec), path, ": no such latency table (run `dnas profile-latency` or `dnas lut import` to create one)");
  }
  db_ = std::make_unique<SqliteDb>(path, mode == OpenMode::kCreate);
  open_schema(mode);
}

void LutStore::open_schema(OpenMode mode) {
  int64_t version = 0;
  try {
    SqliteStatement query = db_->prepare("PRAGMA user_version");
    query.step();
    version = query.column_int(0);
  } catch (const Error& e) {
    throw Error(path() + ": not a dnas latency table: " + std::string(e.what()).substr(path().size() + 2));
  }
  if (version == 0) {
    SqliteTransaction transaction(*db_);
    SqliteStatement again = db_->prepare("PRAGMA user_version");  // another process may have won
    again.step();
    version = again.column_int(0);
    if (version == 0) {
      SqliteStatement tables = db_->prepare("SELECT count(*) FROM sqlite_master");
      tables.step();
      DNAS_CHECK(tables.column_int(0) == 0, path(), ": an SQLite database, but not a dnas latency table (it has ",
                 tables.column_int(0), " other tables and no schema version)");
      DNAS_CHECK(mode == OpenMode::kCreate, path(), ": empty database, not a dnas latency table");
      create_schema(*db_);
      db_->exec("PRAGMA user_version = " + std::to_string(kLutSchemaVersion));
      version = kLutSchemaVersion;
    }
    transaction.commit();
  }
  if (version == 1) {
    migrate_from_version_1();
    version = kLutSchemaVersion;
  }
  DNAS_CHECK(version == kLutSchemaVersion, path(), ": latency table schema version ", version,
             ", but this dnas reads versions 1 to ", kLutSchemaVersion);
  db_->exec("PRAGMA journal_mode = WAL");
  db_->exec("PRAGMA synchronous = NORMAL");
  db_->exec("PRAGMA foreign_keys = ON");
  // After WAL is on: its many reads must not hold a lock that another profiler's switch to WAL
  // (which needs the file to itself) would then find busy.
  check_tables();
}

void LutStore::migrate_from_version_1() {
  SqliteTransaction transaction(*db_);
  SqliteStatement again = db_->prepare("PRAGMA user_version");  // another process may have migrated it
  again.step();
  if (again.column_int(0) == 1) {
    db_->exec(kMigrationFrom1);
    db_->exec(kRoundSamplesTable);
    db_->exec("PRAGMA user_version = " + std::to_string(kLutSchemaVersion));
  }
  transaction.commit();
}

namespace {

struct ColumnInfo {
  std::string name, type;
  bool operator==(const ColumnInfo& o) const { return name == o.name && type == o.type; }
};

std::vector<ColumnInfo> table_columns(SqliteDb& db, const std::string& table) {
  std::vector<ColumnInfo> columns;
  SqliteStatement s = db.prepare("SELECT name, type FROM pragma_table_info(?)");
  s.bind(1, table);
  while (s.step()) columns.push_back({s.column_text(0), s.column_text(1)});
  return columns;
}

}  // namespace

void LutStore::check_tables() const {
  SqliteDb expected(":memory:", true);
  create_schema(expected);
  for (const char* table : {"targets", "runs", "measurements", "round_samples", "corrections"}) {
    const std::vector<ColumnInfo> want = table_columns(expected, table), have = table_columns(*db_, table);
    DNAS_CHECK(!have.empty(), path(), ": damaged latency table: table '", table, "' is missing");
    for (const ColumnInfo& column : want) {
      const auto found = std::find_if(have.begin(), have.end(), [&](const ColumnInfo& c) { return c.name == column.name; });
      DNAS_CHECK(found != have.end(), path(), ": damaged latency table: ", table, ".", column.name, " is missing");
      DNAS_CHECK(*found == column, path(), ": damaged latency table: ", table, ".", column.name, " is declared ",
                 found->type, ", expected ", column.type);
      // SQLite stores what it is given whatever the declared type: check the values too.
      const std::string allowed = column.type == "REAL" ? "'real', 'integer'" : "'" + std::string(column.type == "INTEGER" ? "integer" : "text") + "'";
      SqliteStatement bad = db_->prepare(std::string("SELECT rowid, quote(") + column.name + ") FROM " + table +
                                         " WHERE typeof(" + column.name + ") NOT IN (" + allowed + ") LIMIT 1");
      DNAS_CHECK(!bad.step(), path(), ": damaged latency table: ", table, ".", column.name, " of row ",
                 bad.column_int(0), " is ", bad.column_text(1), ", expected ", column.type);
    }
  }
  SqliteStatement orphan = db_->prepare(
      "SELECT m.key, m.run_id FROM measurements m LEFT JOIN runs r ON m.run_id = r.id WHERE r.id IS NULL LIMIT 1");
  DNAS_CHECK(!orphan.step(), path(), ": damaged latency table: measurements.run_id ", orphan.column_int(1), " of '",
             orphan.column_text(0), "' has no row in runs");
}

void LutStore::ensure_target(const std::string& name, const std::string& device) {
  SqliteTransaction transaction(*db_);
  db_->prepare("INSERT INTO targets (name, device) VALUES (?, ?) ON CONFLICT(name) DO NOTHING")
      .bind(1, name)
      .bind(2, device)
      .run();
  transaction.commit();
}

int64_t LutStore::add_run(const RunRecord& r) {
  SqliteTransaction transaction(*db_);
  db_->prepare(
         "INSERT INTO runs (target, source, host, started_at, finished_at, libtorch_version, cuda_version, device, "
         "device_name, threads, dtype, batch, memory_format, warmup, repeats, build_commit, dnas_version, space, "
         "command, rounds, conditions) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
      .bind(1, r.target).bind(2, r.source).bind(3, r.host).bind(4, r.started_at).bind(5, r.finished_at)
      .bind(6, r.libtorch_version).bind(7, r.cuda_version).bind(8, r.device).bind(9, r.device_name)
      .bind(10, r.threads).bind(11, r.settings.dtype).bind(12, r.settings.batch).bind(13, r.settings.memory_format)
      .bind(14, r.warmup).bind(15, r.repeats).bind(16, r.build_commit).bind(17, r.dnas_version).bind(18, r.space)
      .bind(19, r.command).bind(20, r.rounds).bind(21, r.conditions)
      .run();
  const int64_t id = db_->last_insert_id();
  transaction.commit();
  return id;
}

void LutStore::finish_run(int64_t run_id, const std::string& finished_at) {
  SqliteTransaction transaction(*db_);
  db_->prepare("UPDATE runs SET finished_at = ? WHERE id = ?").bind(1, finished_at).bind(2, run_id).run();
  transaction.commit();
}

void LutStore::put_measurement(const MeasurementRow& m) {
  SqliteTransaction transaction(*db_);
  db_->prepare(std::string("INSERT OR REPLACE INTO measurements (") + kMeasurementColumns +
               ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
      .bind(1, m.target).bind(2, m.key.str()).bind(3, m.key.op).bind(4, m.key.variant).bind(5, m.key.batch)
      .bind(6, m.key.in_channels).bind(7, m.key.in_height).bind(8, m.key.in_width).bind(9, m.key.out_channels)
      .bind(10, m.key.stride).bind(11, m.key.dtype).bind(12, m.key.memory_format).bind(13, m.stats.median_us)
      .bind(14, m.stats.p10_us).bind(15, m.stats.p90_us).bind(16, m.stats.mean_us).bind(17, m.stats.std_us)
      .bind(18, m.stats.repeats).bind(19, m.measured_at).bind(20, m.run_id).bind(21, m.stats.rounds)
      .run();
  transaction.commit();
}

void LutStore::put_round(const RoundRow& r, const std::optional<MeasurementRow>& completed) {
  SqliteTransaction transaction(*db_);
  db_->prepare(
         "INSERT INTO round_samples (target, key, run_id, round, samples_us, canary_us, attempts, settled) "
         "VALUES (?,?,?,?,?,?,?,?)")
      .bind(1, r.target).bind(2, r.key).bind(3, r.run_id).bind(4, r.round).bind(5, join_samples(r.samples_us))
      .bind(6, r.canary_us).bind(7, r.attempts).bind(8, static_cast<int64_t>(r.settled))
      .run();
  if (completed) put_measurement(*completed);
  transaction.commit();
}

std::map<std::string, std::vector<RoundSamples>> LutStore::rounds_measured_with(const std::string& target,
                                                                                int64_t threads,
                                                                                const std::string& device) const {
  std::map<std::string, std::vector<RoundSamples>> out;
  SqliteStatement s = db_->prepare(
      "SELECT q.key, q.samples_us, q.canary_us FROM round_samples q JOIN runs r ON q.run_id = r.id "
      "WHERE q.target = ? AND r.threads = ? AND r.device = ? ORDER BY q.key, q.run_id, q.round");
  s.bind(1, target).bind(2, threads).bind(3, device);
  while (s.step()) {
    const std::string key = s.column_text(0);
    out[key].push_back({split_samples(s.column_text(1), key, path()), s.column_double(2)});
  }
  return out;
}

std::optional<double> LutStore::canary_reference(const std::string& target, int64_t threads,
                                                 const std::string& device, const LutSettings& settings) const {
  SqliteStatement s = db_->prepare(
      "SELECT reference FROM (SELECT id, CASE WHEN json_valid(conditions) AND json_type(conditions, "
      "'$.canary.reference_us') IN ('real', 'integer') THEN json_extract(conditions, '$.canary.reference_us') END "
      "AS reference FROM runs WHERE target = ? AND threads = ? AND device = ? AND batch = ? AND dtype = ? AND "
      "memory_format = ?) WHERE reference > 0 ORDER BY id LIMIT 1");
  s.bind(1, target).bind(2, threads).bind(3, device).bind(4, settings.batch).bind(5, settings.dtype)
      .bind(6, settings.memory_format);
  if (!s.step()) return std::nullopt;  // the query keeps references > 0 only
  const double us = s.column_double(0);
  return std::isfinite(us) ? std::optional<double>(us) : std::nullopt;
}

void LutStore::set_run_conditions(int64_t run_id, const std::string& conditions_json) {
  SqliteTransaction transaction(*db_);
  db_->prepare("UPDATE runs SET conditions = ? WHERE id = ?").bind(1, conditions_json).bind(2, run_id).run();
  transaction.commit();
}

std::vector<TargetRow> LutStore::targets() const {
  std::vector<TargetRow> out;
  SqliteStatement s = db_->prepare(
      "SELECT t.name, t.device, (SELECT count(*) FROM measurements m WHERE m.target = t.name) FROM targets t "
      "ORDER BY t.name");
  while (s.step()) out.push_back({s.column_text(0), s.column_text(1), s.column_int(2)});
  return out;
}

std::vector<RunRecord> LutStore::runs(const std::string& target) const {
  std::vector<RunRecord> out;
  SqliteStatement s = db_->prepare(
      "SELECT id, target, source, host, started_at, finished_at, libtorch_version, cuda_version, device, "
      "device_name, threads, dtype, batch, memory_format, warmup, repeats, build_commit, dnas_version, space, command, "
      "rounds, conditions FROM runs WHERE (?1 = '' OR target = ?1) ORDER BY id");
  s.bind(1, target);
  while (s.step()) {
    RunRecord r;
    r.id = s.column_int(0);
    r.target = s.column_text(1);
    r.source = s.column_text(2);
    r.host = s.column_text(3);
    r.started_at = s.column_text(4);
    r.finished_at = s.column_text(5);
    r.libtorch_version = s.column_text(6);
    r.cuda_version = s.column_text(7);
    r.device = s.column_text(8);
    r.device_name = s.column_text(9);
    r.threads = s.column_int(10);
    r.settings.dtype = s.column_text(11);
    r.settings.batch = s.column_int(12);
    r.settings.memory_format = s.column_text(13);
    r.warmup = s.column_int(14);
    r.repeats = s.column_int(15);
    r.build_commit = s.column_text(16);
    r.dnas_version = s.column_text(17);
    r.space = s.column_text(18);
    r.command = s.column_text(19);
    r.rounds = s.column_int(20);
    r.conditions = s.column_text(21);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<MeasurementRow> LutStore::measurements(const std::string& target) const {
  std::vector<MeasurementRow> out;
  SqliteStatement s = db_->prepare(std::string("SELECT ") + kMeasurementColumns +
                                   " FROM measurements WHERE (?1 = '' OR target = ?1) ORDER BY target, key");
  s.bind(1, target);
  while (s.step()) out.push_back(read_measurement(s, path()));
  return out;
}

std::map<std::string, double> LutStore::medians(const std::string& target, const LutSettings& settings) const {
  std::map<std::string, double> out;
  SqliteStatement s = db_->prepare(
      "SELECT key, median_us FROM measurements WHERE target = ? AND batch = ? AND dtype = ? AND memory_format = ?");
  s.bind(1, target).bind(2, settings.batch).bind(3, settings.dtype).bind(4, settings.memory_format);
  while (s.step()) out[s.column_text(0)] = latency_column(s, 1, "median_us", s.column_text(0), path());
  return out;
}

std::set<std::string> LutStore::keys_measured_with(const std::string& target, int64_t threads,
                                                   const std::string& device) const {
  std::set<std::string> out;
  SqliteStatement s = db_->prepare(
      "SELECT m.key FROM measurements m JOIN runs r ON m.run_id = r.id "
      "WHERE m.target = ? AND r.threads = ? AND r.device = ?");
  s.bind(1, target).bind(2, threads).bind(3, device);
  while (s.step()) out.insert(s.column_text(0));
  return out;
}

std::vector<std::pair<LutSettings, int64_t>> LutStore::settings_measured(const std::string& target) const {
  std::vector<std::pair<LutSettings, int64_t>> out;
  SqliteStatement s = db_->prepare(
      "SELECT batch, dtype, memory_format, count(*) FROM measurements WHERE target = ? "
      "GROUP BY batch, dtype, memory_format ORDER BY batch, dtype, memory_format");
  s.bind(1, target);
  while (s.step()) out.push_back({LutSettings{s.column_int(0), s.column_text(1), s.column_text(2)}, s.column_int(3)});
  return out;
}

void LutStore::put_correction(const Correction& c) {
  SqliteTransaction transaction(*db_);
  db_->prepare(
         "INSERT OR REPLACE INTO corrections (target, space, scale, offset_us, archs, fitted_at, mape_raw, "
         "mape_corrected) VALUES (?,?,?,?,?,?,?,?)")
      .bind(1, c.target).bind(2, c.space).bind(3, c.scale).bind(4, c.offset_us).bind(5, c.archs)
      .bind(6, c.fitted_at).bind(7, c.mape_raw).bind(8, c.mape_corrected)
      .run();
  transaction.commit();
}

std::optional<Correction> LutStore::correction(const std::string& target) const {
  SqliteStatement s = db_->prepare(
      "SELECT target, space, scale, offset_us, archs, fitted_at, mape_raw, mape_corrected FROM corrections "
      "WHERE target = ?");
  s.bind(1, target);
  if (!s.step()) return std::nullopt;
  Correction c;
  c.target = s.column_text(0);
  c.space = s.column_text(1);
  c.scale = s.column_double(2);
  c.offset_us = s.column_double(3);
  c.archs = s.column_int(4);
  c.fitted_at = s.column_text(5);
  c.mape_raw = s.column_double(6);
  c.mape_corrected = s.column_double(7);
  return c;
}

}  // namespace dnas

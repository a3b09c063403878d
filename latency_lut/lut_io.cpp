#include "latency_lut/lut_io.h"

#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/config_reader.h"

namespace dnas {
namespace {

using nlohmann::json;

// An hour per block: anything above is a unit mistake or a broken timer, not a latency.
constexpr double kMaxLatencyUs = 3.6e9;

const std::vector<std::string> kCsvColumns = {
    "target", "target_device", "key", "op", "variant", "batch", "in_c", "in_h", "in_w", "out_c", "stride", "dtype",
    "memory_format", "median_us", "p10_us", "p90_us", "mean_us", "std_us", "repeats", "measured_at", "run_source",
    "run_host", "run_started_at", "run_finished_at", "run_libtorch", "run_cuda", "run_device", "run_device_name",
    "run_threads", "run_dtype", "run_batch", "run_memory_format", "run_warmup", "run_repeats", "run_build_commit",
    "run_dnas_version", "run_space", "run_command", "rounds", "run_rounds", "run_conditions"};
// Exports before rounds (dnas-lut/1 without them) have only the first 38 columns: 1 round, no conditions.
constexpr size_t kCsvColumnsBeforeRounds = 38;

std::string format_double(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\n\r") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// Splits CSV text into records of fields (RFC 4180), remembering each record's first line.
std::vector<std::pair<size_t, std::vector<std::string>>> parse_csv(const std::string& text, const std::string& origin) {
  std::vector<std::pair<size_t, std::vector<std::string>>> records;
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false, in_record = false;
  size_t line = 1, record_line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!in_record) {
      record_line = line;
      in_record = true;
    }
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"' && field.empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      fields.push_back(std::move(field));
      field.clear();
      records.emplace_back(record_line, std::move(fields));
      fields.clear();
      in_record = false;
      ++line;
    } else {
      field += c;
    }
  }
  DNAS_CHECK(!quoted, origin, ":", record_line, ": unterminated quoted field");
  if (in_record) {
    fields.push_back(std::move(field));
    records.emplace_back(record_line, std::move(fields));
  }
  return records;
}

class CsvRow {
 public:
  CsvRow(const std::vector<std::string>& fields, std::string where) : fields_(fields), where_(std::move(where)) {}
  const std::string& text(size_t column) const { return fields_[column]; }
  int64_t integer(size_t column) const {
    const std::string& s = fields_[column];
    int64_t value = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), value);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) fail(column, "an integer");
    return value;
  }
  double number(size_t column) const {
    const std::string& s = fields_[column];
    double value = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), value);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !(value >= 0)) fail(column, "a number >= 0");
    return value;
  }
  [[noreturn]] void fail(size_t column, const char* expected) const {
    throw Error(detail::concat(where_, ": ", kCsvColumns[column], ": expected ", expected, ", got '", fields_[column], "'"));
  }
  const std::string& where() const { return where_; }

 private:
  const std::vector<std::string>& fields_;
  std::string where_;
};

// The key string must agree with its fields: a row whose key was edited by hand is corrupt.
void check_key(const MeasurementRow& m, const std::string& key_text, const std::string& where) {
  check_lut_settings({m.key.batch, m.key.dtype, m.key.memory_format}, where);
  DNAS_CHECK(m.key.str() == key_text, where, ": key '", key_text, "' does not match its fields (expected '",
             m.key.str(), "')");
  DNAS_CHECK(m.stats.repeats >= 1, where, ": repeats: expected >= 1, got ", m.stats.repeats);
  const auto& t = m.stats;
  for (const double v : {t.median_us, t.p10_us, t.p90_us, t.mean_us})
    DNAS_CHECK(std::isfinite(v) && v > 0 && v <= kMaxLatencyUs, where, ": latencies must be positive and at most ",
               kMaxLatencyUs, " microseconds, got ", v);
  DNAS_CHECK(std::isfinite(t.std_us) && t.std_us >= 0, where, ": std_us: expected a finite number >= 0, got ", t.std_us);
  DNAS_CHECK(t.p10_us <= t.median_us && t.median_us <= t.p90_us, where, ": expected p10 <= median <= p90, got ",
             t.p10_us, ", ", t.median_us, ", ", t.p90_us);
}

// One measurement per (target, key) in one file: a second one would silently replace the first.
void check_unique(std::set<std::pair<std::string, std::string>>& seen, const MeasurementRow& m,
                  const std::string& where) {
  DNAS_CHECK(seen.emplace(m.target, m.key.str()).second, where, ": key '", m.key.str(), "' of target '", m.target,
             "' appears twice in this file");
}

using RunIdentity = std::tuple<std::string, std::string, std::string, std::string, std::string, std::string,
                               std::string, std::string, std::string, int64_t, std::string, int64_t, std::string,
                               int64_t, int64_t, std::string, std::string, std::string, std::string, int64_t,
                               std::string>;

RunIdentity identity(const RunRecord& r) {
  return {r.target, r.source, r.host, r.started_at, r.finished_at, r.libtorch_version, r.cuda_version,
          r.device, r.device_name, r.threads, r.settings.dtype, r.settings.batch, r.settings.memory_format,
          r.warmup, r.repeats, r.build_commit, r.dnas_version, r.space, r.command, r.rounds, r.conditions};
}

// A run's conditions as exported (an object), and back: a string that is not a JSON object is a
// damaged row.
Json conditions_object(const std::string& text, const std::string& where) {
  Json j = parse_json_text(text, where + ": run_conditions");
  DNAS_CHECK(j.is_object(), where, ": run_conditions: expected a JSON object, got '", text, "'");
  return j;
}

void check_rounds(int64_t rounds, const std::string& where) {
  DNAS_CHECK(rounds >= 1 && rounds <= 100000, where, ": rounds: expected 1 to 100000, got ", rounds);
}

json run_json(const RunRecord& r) {
  return {{"target", r.target}, {"source", r.source}, {"host", r.host}, {"started_at", r.started_at},
          {"finished_at", r.finished_at}, {"libtorch_version", r.libtorch_version}, {"cuda_version", r.cuda_version},
          {"device", r.device}, {"device_name", r.device_name}, {"threads", r.threads}, {"dtype", r.settings.dtype},
          {"batch", r.settings.batch}, {"memory_format", r.settings.memory_format}, {"warmup", r.warmup},
          {"repeats", r.repeats}, {"build_commit", r.build_commit}, {"dnas_version", r.dnas_version},
          {"space", r.space}, {"command", r.command}, {"rounds", r.rounds},
          {"conditions", conditions_object(r.conditions, "run " + std::to_string(r.id))}};
}

}  // namespace

std::string export_lut_csv(const LutStore& store, const std::string& target) {
  std::map<int64_t, RunRecord> runs;
  for (RunRecord& r : store.runs(target)) runs[r.id] = std::move(r);
  std::map<std::string, std::string> devices;
  for (const TargetRow& t : store.targets()) devices[t.name] = t.device;
  std::string out;
  for (size_t c = 0; c < kCsvColumns.size(); ++c) out += (c ? "," : "") + kCsvColumns[c];
  out += '\n';
  for (const MeasurementRow& m : store.measurements(target)) {
    const RunRecord& r = runs.at(m.run_id);
    const std::vector<std::string> fields = {
        m.target, devices[m.target], m.key.str(), m.key.op, m.key.variant, std::to_string(m.key.batch),
        std::to_string(m.key.in_channels), std::to_string(m.key.in_height), std::to_string(m.key.in_width),
        std::to_string(m.key.out_channels), std::to_string(m.key.stride), m.key.dtype, m.key.memory_format,
        format_double(m.stats.median_us), format_double(m.stats.p10_us), format_double(m.stats.p90_us),
        format_double(m.stats.mean_us), format_double(m.stats.std_us), std::to_string(m.stats.repeats),
        m.measured_at, r.source, r.host, r.started_at, r.finished_at, r.libtorch_version, r.cuda_version, r.device,
        r.device_name, std::to_string(r.threads), r.settings.dtype, std::to_string(r.settings.batch),
        r.settings.memory_format, std::to_string(r.warmup), std::to_string(r.repeats), r.build_commit,
        r.dnas_version, r.space, r.command, std::to_string(m.stats.rounds), std::to_string(r.rounds), r.conditions};
    for (size_t c = 0; c < fields.size(); ++c) out += (c ? "," : "") + csv_field(fields[c]);
    out += '\n';
  }
  return out;
}

ImportSummary import_lut_csv(LutStore& store, const std::string& text, const std::string& origin) {
  check_utf8_text(text, origin);
  const auto records = parse_csv(text, origin);
  DNAS_CHECK(!records.empty(), origin, ": empty file (expected a header line)");
  const std::vector<std::string> before_rounds(kCsvColumns.begin(), kCsvColumns.begin() + kCsvColumnsBeforeRounds);
  const bool with_rounds = records[0].second == kCsvColumns;
  DNAS_CHECK(with_rounds || records[0].second == before_rounds, origin, ":1: unexpected header (expected the ",
             kCsvColumns.size(), " columns `dnas lut export --format csv` writes, starting with 'target,target_device,key')");
  const size_t columns = with_rounds ? kCsvColumns.size() : kCsvColumnsBeforeRounds;
  // Parse and validate everything before writing anything.
  struct Parsed {
    MeasurementRow m;
    std::string device;
    RunRecord run;
  };
  std::vector<Parsed> parsed;
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 1; i < records.size(); ++i) {
    const auto& [line, fields] = records[i];
    const std::string where = detail::concat(origin, ":", line);
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    DNAS_CHECK(fields.size() == columns, where, ": expected ", columns, " fields, got ", fields.size());
    const CsvRow row(fields, where);
    Parsed p;
    p.m.target = row.text(0);
    DNAS_CHECK(!p.m.target.empty(), where, ": target: expected a name, got ''");
    p.device = row.text(1);
    p.m.key.op = row.text(3);
    p.m.key.variant = row.text(4);
    p.m.key.batch = row.integer(5);
    p.m.key.in_channels = row.integer(6);
    p.m.key.in_height = row.integer(7);
    p.m.key.in_width = row.integer(8);
    p.m.key.out_channels = row.integer(9);
    p.m.key.stride = row.integer(10);
    p.m.key.dtype = row.text(11);
    p.m.key.memory_format = row.text(12);
    p.m.stats = {row.number(13), row.number(14), row.number(15), row.number(16), row.number(17), row.integer(18),
                 with_rounds ? row.integer(38) : 1};
    check_rounds(p.m.stats.rounds, where);
    p.m.measured_at = row.text(19);
    check_key(p.m, row.text(2), where);
    check_unique(seen, p.m, where);
    RunRecord& r = p.run;
    r.target = p.m.target;
    r.source = row.text(20);
    r.host = row.text(21);
    r.started_at = row.text(22);
    r.finished_at = row.text(23);
    r.libtorch_version = row.text(24);
    r.cuda_version = row.text(25);
    r.device = row.text(26);
    r.device_name = row.text(27);
    r.threads = row.integer(28);
    r.settings.dtype = row.text(29);
    r.settings.batch = row.integer(30);
    r.settings.memory_format = row.text(31);
    r.warmup = row.integer(32);
    r.repeats = row.integer(33);
    r.build_commit = row.text(34);
    r.dnas_version = row.text(35);
    r.space = row.text(36);
    r.command = row.text(37);
    if (with_rounds) {
      r.rounds = row.integer(39);
      check_rounds(r.rounds, where);
      r.conditions = conditions_object(row.text(40), where).dump();
    }
    parsed.push_back(std::move(p));
  }
  DNAS_CHECK(!parsed.empty(), origin, ": a header and no measurements (nothing to import)");
  ImportSummary summary;
  SqliteTransaction transaction(store.db());
  std::map<RunIdentity, int64_t> run_ids;
  for (Parsed& p : parsed) {
    store.ensure_target(p.m.target, p.device);
    auto [it, inserted] = run_ids.emplace(identity(p.run), 0);
    if (inserted) {
      it->second = store.add_run(p.run);
      ++summary.runs;
    }
    p.m.run_id = it->second;
    store.put_measurement(p.m);
    ++summary.measurements;
  }
  transaction.commit();
  return summary;
}

std::string export_lut_json(const LutStore& store, const std::string& target) {
  json targets = json::array();
  for (const TargetRow& t : store.targets())
    if (target.empty() || t.name == target) targets.push_back({{"name", t.name}, {"device", t.device}});
  json runs = json::array();
  std::map<int64_t, size_t> run_index;
  for (const RunRecord& r : store.runs(target)) {
    run_index[r.id] = runs.size();
    runs.push_back(run_json(r));
  }
  json measurements = json::array();
  for (const MeasurementRow& m : store.measurements(target)) {
    measurements.push_back({{"target", m.target}, {"key", m.key.str()}, {"op", m.key.op}, {"variant", m.key.variant},
                            {"batch", m.key.batch}, {"in_c", m.key.in_channels}, {"in_h", m.key.in_height},
                            {"in_w", m.key.in_width}, {"out_c", m.key.out_channels}, {"stride", m.key.stride},
                            {"dtype", m.key.dtype}, {"memory_format", m.key.memory_format},
                            {"median_us", m.stats.median_us}, {"p10_us", m.stats.p10_us}, {"p90_us", m.stats.p90_us},
                            {"mean_us", m.stats.mean_us}, {"std_us", m.stats.std_us}, {"repeats", m.stats.repeats},
                            {"measured_at", m.measured_at}, {"run", run_index.at(m.run_id)},
                            {"rounds", m.stats.rounds}});
  }
  json corrections = json::array();
  for (const TargetRow& t : store.targets()) {
    if (!target.empty() && t.name != target) continue;
    if (auto c = store.correction(t.name))
      corrections.push_back({{"target", c->target}, {"space", c->space}, {"scale", c->scale},
                             {"offset_us", c->offset_us}, {"archs", c->archs}, {"fitted_at", c->fitted_at},
                             {"mape_raw", c->mape_raw}, {"mape_corrected", c->mape_corrected}});
  }
  const json out = {{"format", "dnas-lut/1"}, {"targets", targets}, {"runs", runs}, {"measurements", measurements},
                    {"corrections", corrections}};
  return out.dump(1) + "\n";
}

ImportSummary import_lut_json(LutStore& store, const std::string& text, const std::string& origin) {
  check_utf8_text(text, origin);
  const Json document = parse_json_text(text, origin);
  ConfigReader r(document, origin);
  const std::string format = r.string("format");
  if (format != "dnas-lut/1") r.fail("format", "expected \"dnas-lut/1\", got \"" + format + "\"");
  std::vector<std::pair<std::string, std::string>> targets;
  for (ConfigReader& t : r.object_list("targets")) {
    targets.emplace_back(t.string("name"), t.string("device"));
    t.finish();
  }
  std::vector<RunRecord> runs;
  for (ConfigReader& j : r.object_list("runs")) {
    RunRecord run;
    run.target = j.string("target");
    run.source = j.string("source");
    run.host = j.string("host");
    run.started_at = j.string("started_at");
    run.finished_at = j.string("finished_at");
    run.libtorch_version = j.string("libtorch_version");
    run.cuda_version = j.string("cuda_version");
    run.device = j.string("device");
    run.device_name = j.string("device_name");
    run.threads = j.integer("threads");
    run.settings.dtype = j.string("dtype");
    run.settings.batch = j.integer("batch");
    run.settings.memory_format = j.string("memory_format");
    run.warmup = j.integer("warmup");
    run.repeats = j.integer("repeats");
    run.build_commit = j.string("build_commit");
    run.dnas_version = j.string("dnas_version");
    run.space = j.string("space");
    run.command = j.string("command");
    run.rounds = j.optional_integer("rounds").value_or(1);
    check_rounds(run.rounds, j.where("rounds"));
    if (j.has("conditions")) {
      const Json conditions = j.raw("conditions");
      if (!conditions.is_object()) j.fail("conditions", "expected an object");
      run.conditions = conditions.dump();
    } else {
      j.allow("conditions");
    }
    j.finish();
    runs.push_back(std::move(run));
  }
  std::vector<std::pair<MeasurementRow, size_t>> measurements;
  std::set<std::pair<std::string, std::string>> seen;
  for (ConfigReader& j : r.object_list("measurements")) {
    MeasurementRow m;
    m.target = j.string("target");
    const std::string key = j.string("key");
    m.key.op = j.string("op");
    m.key.variant = j.string("variant");
    m.key.batch = j.integer("batch");
    m.key.in_channels = j.integer("in_c");
    m.key.in_height = j.integer("in_h");
    m.key.in_width = j.integer("in_w");
    m.key.out_channels = j.integer("out_c");
    m.key.stride = j.integer("stride");
    m.key.dtype = j.string("dtype");
    m.key.memory_format = j.string("memory_format");
    m.stats = {j.number("median_us"), j.number("p10_us"), j.number("p90_us"), j.number("mean_us"),
               j.number("std_us"), j.integer("repeats"), j.optional_integer("rounds").value_or(1)};
    check_rounds(m.stats.rounds, j.where("rounds"));
    m.measured_at = j.string("measured_at");
    const int64_t run = j.integer("run");
    if (run < 0 || run >= static_cast<int64_t>(runs.size()))
      j.fail("run", detail::concat("expected a run index below ", runs.size(), ", got ", run));
    j.finish();
    check_key(m, key, j.where());
    check_unique(seen, m, j.where());
    measurements.emplace_back(std::move(m), static_cast<size_t>(run));
  }
  std::vector<Correction> corrections;
  if (r.has("corrections")) {
    for (ConfigReader& j : r.object_list("corrections")) {
      Correction c;
      c.target = j.string("target");
      c.space = j.string("space");
      c.scale = j.number("scale");
      c.offset_us = j.number("offset_us");
      c.archs = j.integer("archs");
      c.fitted_at = j.string("fitted_at");
      c.mape_raw = j.number("mape_raw");
      c.mape_corrected = j.number("mape_corrected");
      j.finish();
      corrections.push_back(c);
    }
  } else {
    r.allow("corrections");
  }
  r.finish();

  ImportSummary summary;
  SqliteTransaction transaction(store.db());
  for (const auto& [name, device] : targets) store.ensure_target(name, device);
  std::vector<int64_t> run_ids;
  for (const RunRecord& run : runs) {
    run_ids.push_back(store.add_run(run));
    ++summary.runs;
  }
  for (auto& [m, run] : measurements) {
    m.run_id = run_ids[run];
    store.put_measurement(m);
    ++summary.measurements;
  }
  for (const Correction& c : corrections) store.put_correction(c);
  transaction.commit();
  return summary;
}

bool is_phone_results(const std::string& text, const std::string& origin) {
  const Json j = parse_json_text(text, origin);
  return j.is_object() && j.value("format", "") == "dnas-phone-results/1";
}

ImportSummary import_phone_results(LutStore& store, const std::string& text, const std::string& origin) {
  check_utf8_text(text, origin);
  const Json document = parse_json_text(text, origin);
  ConfigReader r(document, origin);
  const std::string format = r.string("format");
  if (format != "dnas-phone-results/1") r.fail("format", "expected \"dnas-phone-results/1\", got \"" + format + "\"");
  RunRecord run;
  run.target = r.string("target");
  run.source = "import:speed_benchmark_torch";
  run.device = "cpu";
  run.device_name = r.string("device");
  run.host = r.string("host");
  run.started_at = r.string("started_at");
  run.finished_at = r.string("finished_at");
  run.warmup = r.integer("warmup");
  run.repeats = r.integer("iters");
  run.libtorch_version = "PyTorch Mobile (speed_benchmark_torch)";
  run.cuda_version = "none";
  run.build_commit = r.optional_string("build_commit").value_or("");
  run.dnas_version = r.optional_string("dnas_version").value_or("");
  run.space = r.optional_string("space").value_or("");
  run.command = "scripts/profile-android.sh";
  std::vector<MeasurementRow> rows;
  std::set<std::pair<std::string, std::string>> seen;
  for (ConfigReader& result : r.object_list("results")) {
    MeasurementRow m;
    m.target = run.target;
    m.key = parse_lut_key(result.string("key"), result.where("key"));
    const double us = result.number("us_per_iter");
    if (!(us > 0)) result.fail("us_per_iter", detail::concat("expected a positive number, got ", us));
    m.stats = {us, us, us, us, 0.0, run.repeats, 1};
    m.measured_at = run.finished_at;
    result.finish();
    check_key(m, m.key.str(), result.where("us_per_iter"));
    check_unique(seen, m, result.where("key"));
    rows.push_back(m);
  }
  r.finish();
  DNAS_CHECK(!rows.empty(), origin, ": no results");
  run.settings = {rows.front().key.batch, rows.front().key.dtype, rows.front().key.memory_format};
  return store_imported_run(store, run, run.device_name, std::move(rows));
}

ImportSummary store_imported_run(LutStore& store, const RunRecord& run, const std::string& device,
                                 std::vector<MeasurementRow> rows) {
  ImportSummary summary;
  SqliteTransaction transaction(store.db());
  store.ensure_target(run.target, device);
  const int64_t run_id = store.add_run(run);
  summary.runs = 1;
  for (MeasurementRow& m : rows) {
    m.run_id = run_id;
    store.put_measurement(m);
    ++summary.measurements;
  }
  transaction.commit();
  return summary;
}

}  // namespace dnas

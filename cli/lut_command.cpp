#include "cli/lut_command.h"

#include <CLI/CLI.hpp>

#include <ATen/Parallel.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>

#include "cli/format.h"
#include "cli/progress.h"
#include "cli/config_flags.h"
#include "latency_lut/host_conditions.h"
#include "latency_lut/lut_io.h"
#include "latency_lut/peer_import.h"
#include "latency_lut/profile_config.h"
#include "latency_lut/profiler.h"
#include "latency_lut/validation.h"
#include "ops/block_module.h"
#include "export/torchscript.h"
#include "common/device.h"
#include "common/error.h"
#include "common/file_io.h"
#include "supernet/config_store.h"

namespace dnas::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// This process's command line, for provenance.
std::string command_line() {
  std::ifstream cmdline("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  for (char& c : raw)
    if (c == '\0') c = ' ';
  while (!raw.empty() && raw.back() == ' ') raw.pop_back();
  return raw;
}

// Options shared by everything that times blocks or networks.
struct TimingFlags {
  std::string device;  // "" = the target's profile device
  int64_t batch = 1;
  std::string dtype = "fp32";
  std::string lut_layout = "nchw";
  int64_t threads = 0;
  int64_t warmup = 1;
  int64_t repeats = 2;
  int64_t rounds = 10;  // validation's defaults: a whole network is timed 30 times, in 10 rounds
  double canary_threshold = RoundsOptions{}.canary_threshold;  // profile-latency's drift guard
  int64_t max_retries = RoundsOptions{}.max_retries;
  double retry_budget = RoundsOptions{}.retry_budget;
  bool as_timed = false;

  void add_to(CLI::App* cmd, bool with_device = true) {
    if (with_device)
      cmd->add_option("--device", device, "cpu or cuda (default: the target's profile_device)");
    cmd->add_option("--batch", batch, "Batch size of the timed inputs")->capture_default_str();
    cmd->add_option("--dtype", dtype, "fp32, fp16 (CUDA) or bf16")->capture_default_str();
    cmd->add_option("--lut-layout", lut_layout, "The table's memory format: nchw or nhwc (channels-last)")
        ->capture_default_str();
    cmd->add_option("--threads", threads, "Intra-op threads (0: LibTorch's default)")->capture_default_str();
    cmd->add_option("--warmup", warmup, "Untimed iterations before each round's timed ones")->capture_default_str();
    cmd->add_option("--repeats", repeats, "Timed iterations per arch and round")->capture_default_str();
    cmd->add_option("--rounds", rounds, "Rounds, each timing every arch once in its own random order (>= 2)")
        ->capture_default_str();
    cmd->add_option("--canary-threshold", canary_threshold,
                    "An arch-round is timed again when the canary kernel ran this much slower than its baseline")
        ->capture_default_str();
    cmd->add_option("--max-retries", max_retries, "Re-measures of an arch-round spoiled by drift, at most")
        ->capture_default_str();
    cmd->add_option("--retry-budget", retry_budget,
                    "Re-measures at most, as a fraction of the arch-rounds; past it a spoiled one is kept, counted unsettled")
        ->capture_default_str();
    cmd->add_flag("--as-timed", as_timed,
                  "Compare timings as timed, not normalized to the table's canary reference as its rows are");
  }

  LutSettings settings() const { return {batch, dtype, lut_layout}; }

  ProfileConfig config() const {
    ProfileConfig c;
    c.device = device, c.batch = batch, c.dtype = dtype, c.lut_layout = lut_layout;
    c.threads = threads, c.warmup = warmup, c.repeats = repeats, c.rounds = rounds, c.as_timed = as_timed;
    c.canary_threshold = canary_threshold, c.max_retries = max_retries, c.retry_budget = retry_budget;
    return c;
  }

  // Validates the flags, applies --threads, and returns the timing options for `target`.
  TimingOptions resolve(const TargetSpec& target) const {
    const ProfileConfig c = config();
    profile_config_fields().validate(c);
    return c.timing(target);
  }
};

// "in the table's units: normalized to its canary reference R x S, the median of N of its rows
// re-timed <where> (stored / now: a-b" -- the caller closes the parenthesis.
std::string in_table_units(double table_reference_us, const AnchorScale& anchors, const std::string& where) {
  return "in the table's units: normalized to its canary reference " + format_us(table_reference_us) + " x " +
         fixed(anchors.scale, 3) + ", the median of " + std::to_string(anchors.anchors) + " of its rows re-timed " +
         where + " (stored / now: " + fixed(anchors.min_ratio, 3) + "-" + fixed(anchors.max_ratio, 3);
}

// What a run's stored conditions say, in one cell: "noisy: 12% unsettled", the figures, warnings.
std::string conditions_cell(const std::string& conditions_json) {
  Json j = Json::parse(conditions_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.empty()) return "";
  std::string cell = conditions_summary(conditions_from_json(j));
  const auto canary = j.find("canary");
  if (canary != j.end() && canary->is_object()) {
    // A damaged table can hold anything here: a field of the wrong type reads as absent.
    auto number_in = [](const Json& object, const char* key, double absent) {
      const auto it = object.find(key);
      return it != object.end() && it->is_number() ? it->get<double>() : absent;
    };
    auto number = [&](const char* key, double absent) { return number_in(*canary, key, absent); };
    auto integer = [&](const char* key, int64_t absent) {
      const auto it = canary->find(key);
      return it != canary->end() && it->is_number_integer() ? it->get<int64_t>() : absent;
    };
    cell += (cell.empty() ? "" : ", ") + std::string("canary +") + percent(number("median_drift", 0));
    // How much slower than the table's reference this run's machine was (what the canary undid); an
    // anchored run records its scaled reference, and the table's beside the anchors' scale.
    const auto anchors = canary->find("anchors");
    const bool anchored = anchors != canary->end() && anchors->is_object();
    auto anchor_number = [&](const char* key) { return anchored ? number_in(*anchors, key, 0.0) : 0.0; };
    const double reference = anchored ? anchor_number("table_reference_us") : number("reference_us", 0);
    const double baseline = number("baseline_us", 0);
    if (reference > 0 && baseline > 0) cell += " at " + fixed(baseline / reference, 2) + "x its reference";
    if (anchored && anchor_number("count") > 0 && anchor_number("scale") > 0)
      cell += ", " + std::to_string(static_cast<int64_t>(anchor_number("count"))) + " stored rows re-timed: x" +
              fixed(anchor_number("scale"), 3);
    const auto noisy = j.find("noisy");
    if (noisy != j.end() && noisy->is_boolean() && noisy->get<bool>()) {
      const double rounds = number("block_rounds", 0), unsettled = number("unsettled", 0);
      CanaryReport report;
      report.remeasured = integer("remeasured", 0);
      // Runs from before the budget have none: never spent.
      report.retry_budget = integer("retry_budget", std::numeric_limits<int64_t>::max());
      report.unsettled = integer("unsettled", 0);
      cell = "NOISY (" + percent(rounds > 0 ? unsettled / rounds : 0.0) + " of rounds never settled" +
             (report.budget_spent() ? ", retry budget spent" : "") + "), " + cell;
    }
  }
  return cell;
}

std::string default_db(const TargetSpec& target, const std::string& db) { return db.empty() ? target.lut : db; }

void ensure_parent_directory(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::exists(parent, ec)) {
    fs::create_directories(parent, ec);
    DNAS_CHECK(!ec, path, ": cannot create directory ", parent.string(), " (", ec.message(), ")");
  }
}

// ---- profile-latency -------------------------------------------------------------------------

struct ProfileFlags {
  explicit ProfileFlags(CLI::App* cmd) : flags(cmd, profile_config_fields()) {}
  ConfigFlags<ProfileConfig> flags;
  bool dry_run = false, as_json = false;
};

// The space with the input / class overrides a dataset implies (what `dnas search` profiles).
SearchSpace space_for(const std::string& name, int64_t channels, int64_t classes) {
  SearchSpace space = load_space(name);
  if (channels > 0) space.input_channels = channels;
  if (classes > 0) space.num_classes = classes;
  return space;
}

std::optional<int64_t> size_override(int64_t size) { return size > 0 ? std::optional<int64_t>(size) : std::nullopt; }

void run_profile_command(const ProfileFlags& f) {
  ProfileConfig given;
  f.flags.apply(given);
  DNAS_CHECK(!given.target.empty(), "--target: required (a target name or .yaml)");
  const TargetSpec target = load_target(given.target);
  // The table setting the search will look up (the target's lut_* keys) unless a flag says otherwise.
  ProfileConfig config;
  config.batch = target.lut_settings.batch;
  config.dtype = target.lut_settings.dtype;
  config.lut_layout = target.lut_settings.memory_format;
  f.flags.apply(config);
  config.validate();
  const TimingOptions timing = config.timing(target);
  const std::string db_path = default_db(target, config.db);
  std::vector<BlockToTime> blocks;
  SearchSpace space;
  if (!config.space.empty()) {
    space = space_for(config.space, config.input_channels, config.num_classes);
    blocks = enumerate_space_blocks(resolve_space(space, size_override(config.input), space.name), timing.settings);
  } else {
    ArchSpec arch = load_arch(config.arch);
    if (config.input_channels > 0) arch.input_channels = config.input_channels;
    if (config.num_classes > 0) arch.num_classes = config.num_classes;
    space.name = arch.name.empty() ? config.arch : arch.name;
    blocks = enumerate_arch_blocks(resolve_arch(arch, size_override(config.input), config.arch), timing.settings);
  }

  ProfileOptions options;
  options.timing = timing;
  options.space = space.name;
  options.command = command_line();
  options.normalize = !config.as_timed;
  options.anchors = static_cast<size_t>(config.anchors);

  std::error_code ec;
  const bool db_exists = fs::exists(db_path, ec);
  if (!f.dry_run) ensure_parent_directory(db_path);
  std::unique_ptr<LutStore> store;
  if (!f.dry_run || db_exists)
    store = std::make_unique<LutStore>(db_path, f.dry_run ? OpenMode::kExisting : OpenMode::kCreate);
  ProfilePlan plan;
  if (store) {
    plan = plan_profile(*store, target, blocks, options);
  } else {
    plan.pending = blocks;
  }

  if (f.dry_run) {
    json anchors = json::array();
    for (size_t i = 0; i < plan.anchors.blocks.size(); ++i)
      anchors.push_back({{"key", plan.anchors.blocks[i].key.str()}, {"stored_us", plan.anchors.stored_us[i]}});
    if (f.as_json) {
      json rows = json::array();
      for (const BlockToTime& b : plan.pending)
        rows.push_back({{"key", b.key.str()}, {"first_seen", b.first_seen}, {"macs", b.cost.macs}});
      std::cout << json{{"space", space.name}, {"target", target.name}, {"db", db_path}, {"blocks", blocks.size()},
                        {"already_measured", plan.already_measured}, {"to_measure", rows},
                        {"anchors", anchors},
                        {"config", profile_config_fields().to_json(config)}}
                       .dump(2)
                << '\n';
      return;
    }
    Table table({"#", "key", "first seen", "MACs"}, {true, false, false, true});
    for (size_t i = 0; i < plan.pending.size(); ++i)
      table.add_row({std::to_string(i), plan.pending[i].key.str(), plan.pending[i].first_seen,
                     human_count(plan.pending[i].cost.macs)});
    table.print(std::cout);
    std::cout << "\n" << blocks.size() << " distinct blocks in space " << space.name << "; "
              << plan.already_measured << " already in " << db_path << "; " << plan.pending.size()
              << " would be timed on " << timing.device << " in " << config.rounds << " rounds of " << timing.warmup
              << " warm-up + " << timing.repeats << " timed runs each";
    if (!plan.anchors.blocks.empty())
      std::cout << ", after " << plan.anchors.blocks.size() << " of its stored rows re-timed to carry them into the table's "
                << "units (--anchors)";
    std::cout << "\n";
    return;
  }

  options.rounds = config.rounds_options();
  ProgressBar bar("profiling " + target.name, plan.block_rounds(config.rounds), !f.as_json);
  const ProfileSummary summary = run_profile(*store, target, plan, options, [&](const ProfileEvent& e) {
    bar.update(e.done, std::string(e.anchor ? "anchor, " : "") + "round " + std::to_string(e.round + 1) + "/" +
                           std::to_string(config.rounds) + " " + e.block->key.str() + (e.settled ? "" : " (unsettled)"));
  });
  bar.finish();
  const Json conditions = summary.conditions.empty() ? Json::object() : Json::parse(summary.conditions);
  if (f.as_json) {
    std::cout << json{{"space", space.name}, {"target", target.name}, {"db", db_path}, {"run_id", summary.run_id},
                      {"blocks", blocks.size()}, {"measured", summary.measured}, {"skipped", summary.skipped},
                      {"rounds", config.rounds}, {"seconds", summary.seconds}, {"conditions", conditions},
                      {"noisy", summary.canary.noisy()}}
                     .dump(2)
              << '\n';
    return;
  }
  for (const std::string& warning : conditions.value("warnings", std::vector<std::string>{}))
    std::cerr << "warning: " << warning << '\n';
  if (summary.measured == 0) {
    std::cout << "all " << blocks.size() << " blocks of space " << space.name << " are already measured for target "
              << target.name << " in " << db_path << " (same threads and device); nothing to do\n";
    return;
  }
  std::cout << "measured " << summary.measured << " blocks in " << config.rounds << " rounds in "
            << format_duration(summary.seconds) << " (skipped " << summary.skipped << " already measured) -> "
            << db_path << ", run " << summary.run_id << "\n"
            << "  canary: baseline " << format_us(summary.canary.baseline_us) << ", median drift +"
            << percent(summary.canary.median_drift) << ", max +" << percent(summary.canary.max_drift) << "; "
            << summary.canary.remeasured << " block-rounds re-measured, " << summary.canary.unsettled
            << " never settled\n"
            << (summary.canary_reference_us <= 0
                    ? std::string("  rows stored as timed (--as-timed)")
                    : summary.anchors.anchors > 0
                    ? "  rows " + in_table_units(summary.table_reference_us, summary.anchors, "in the same rounds") + ")"
                    : "  rows normalized to the canary reference " + format_us(summary.canary_reference_us) +
                          (summary.new_reference ? " (fixed by this run: the table's first with this target and setting)"
                                                 : " (the table's, fixed by its first run with this target and setting)"))
            << "\n";
  if (summary.canary.noisy())
    std::cerr << "warning: run " << summary.run_id << " is NOISY: " << percent(summary.canary.unsettled_fraction())
              << " of its block-rounds were timed while the canary ran more than "
              << percent(config.canary_threshold) << " slow and never settled"
              << (summary.canary.budget_spent() ? " (the retry budget, " + std::to_string(summary.canary.retry_budget) +
                                                      " re-measures, was spent: --retry-budget)"
                                                : std::string())
              << "; `lut list` marks it\n";
}

// ---- lut list --------------------------------------------------------------------------------

struct ListFlags {
  std::string db, space;
  std::optional<int64_t> input_size;
  bool as_json = false;
  TimingFlags timing;
};

void run_list(const ListFlags& f) {
  if (f.db.empty()) {
    json targets = json::array();
    Table table({"target", "device", "profiles on", "default table", "rows"}, {false, false, false, false, true});
    for (const std::string& name : config_names(ConfigKind::kTarget)) {
      const TargetSpec t = load_target(name);
      std::error_code ec;
      int64_t rows = -1;
      if (fs::exists(t.lut, ec)) {
        for (const TargetRow& row : LutStore(t.lut, OpenMode::kExisting).targets())
          if (row.name == t.name) rows = row.measurements;
        if (rows < 0) rows = 0;
      }
      targets.push_back({{"name", t.name}, {"device", t.device}, {"profile_device", t.profile_device},
                         {"lut", t.lut}, {"rows", rows < 0 ? json(nullptr) : json(rows)}});
      table.add_row({t.name, t.device, t.profile_device, t.lut, rows < 0 ? "(none yet)" : std::to_string(rows)});
    }
    if (f.as_json) {
      std::cout << json{{"targets", targets}}.dump(2) << '\n';
    } else {
      table.print(std::cout);
      std::cout << "\nTargets without measured rows use a roofline estimate, labelled \"estimated\".\n";
    }
    return;
  }
  const LutStore store(f.db, OpenMode::kExisting);
  const std::vector<TargetRow> targets = store.targets();
  const std::vector<RunRecord> runs = store.runs();
  std::map<int64_t, int64_t> rows_per_run;
  for (const MeasurementRow& m : store.measurements()) ++rows_per_run[m.run_id];

  json coverage = json::array();
  std::vector<std::vector<std::string>> coverage_rows;
  if (!f.space.empty()) {
    const SearchSpace space = load_space(f.space);
    const LutSettings settings = f.timing.settings();
    check_lut_settings(settings, "--batch/--dtype/--lut-layout");
    const auto blocks = enumerate_space_blocks(resolve_space(space, f.input_size, space.name), settings);
    for (const TargetRow& t : targets) {
      const auto medians = store.medians(t.name, settings);
      size_t have = 0;
      for (const BlockToTime& b : blocks) have += medians.count(b.key.str());
      coverage.push_back({{"target", t.name}, {"space", space.name}, {"measured", have}, {"blocks", blocks.size()}});
      coverage_rows.push_back({t.name, space.name, std::to_string(have) + "/" + std::to_string(blocks.size()),
                               have == blocks.size() ? "complete" : "missing " + std::to_string(blocks.size() - have)});
    }
  }
  if (f.as_json) {
    json t_json = json::array(), r_json = json::array();
    for (const TargetRow& t : targets)
      t_json.push_back({{"name", t.name}, {"device", t.device}, {"measurements", t.measurements}});
    for (const RunRecord& r : runs)
      r_json.push_back({{"id", r.id}, {"target", r.target}, {"source", r.source}, {"host", r.host},
                        {"started_at", r.started_at}, {"finished_at", r.finished_at},
                        {"libtorch_version", r.libtorch_version}, {"cuda_version", r.cuda_version},
                        {"device", r.device}, {"device_name", r.device_name}, {"threads", r.threads},
                        {"dtype", r.settings.dtype}, {"batch", r.settings.batch},
                        {"memory_format", r.settings.memory_format}, {"build_commit", r.build_commit},
                        {"space", r.space}, {"rows", rows_per_run[r.id]}, {"rounds", r.rounds},
                        {"warmup", r.warmup}, {"repeats", r.repeats},
                        {"conditions", Json::parse(r.conditions, nullptr, false).is_object()
                                           ? Json::parse(r.conditions) : Json::object()}});
    std::cout << json{{"db", f.db}, {"targets", t_json}, {"runs", r_json}, {"coverage", coverage}}.dump(2) << '\n';
    return;
  }
  std::cout << f.db << "\n\ntargets\n";
  Table t_table({"target", "device", "rows"}, {false, false, true});
  for (const TargetRow& t : targets) t_table.add_row({t.name, t.device, std::to_string(t.measurements)});
  t_table.print(std::cout);
  std::cout << "\nruns\n";
  Table r_table({"run", "target", "source", "started", "host", "device", "threads", "dtype", "batch", "layout",
                 "rounds", "rows", "status", "conditions"},
                {true, false, false, false, false, false, true, false, true, false, true, true, false, false});
  for (const RunRecord& r : runs)
    r_table.add_row({std::to_string(r.id), r.target, r.source, r.started_at, r.host, r.device_name,
                     std::to_string(r.threads), r.settings.dtype, std::to_string(r.settings.batch),
                     r.settings.memory_format, std::to_string(r.rounds), std::to_string(rows_per_run[r.id]),
                     r.finished_at.empty() ? "interrupted" : "complete", conditions_cell(r.conditions)});
  r_table.print(std::cout);
  if (!coverage_rows.empty()) {
    std::cout << "\ncoverage\n";
    Table c_table({"target", "space", "measured", "status"}, {false, false, true, false});
    for (auto& row : coverage_rows) c_table.add_row(row);
    c_table.print(std::cout);
  }
}

// ---- lut export / import ---------------------------------------------------------------------

std::string infer_format(const std::string& format, const std::string& path, const char* flag,
                         bool peers = false) {
  if (!format.empty()) {
    DNAS_CHECK(format == "csv" || format == "json" || (peers && (format == "proxyless" || format == "hw-nas-bench")),
               "--format: expected csv or json", peers ? ", or a peer's table: proxyless or hw-nas-bench" : "",
               ", got '", format, "'");
    return format;
  }
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".json") return "json";
  if (ext == ".csv" || path.empty()) return "csv";
  throw Error(std::string(flag) + ": cannot tell the format of '" + path + "' (use .csv / .json or --format)");
}

struct ExportFlags {
  std::string db, target, format, out;
};

void run_export(const ExportFlags& f) {
  const LutStore store(f.db, OpenMode::kExisting);
  const std::string format = infer_format(f.format, f.out, "--out");
  if (!f.target.empty()) {
    bool known = false;
    for (const TargetRow& t : store.targets()) known = known || t.name == f.target;
    DNAS_CHECK(known, f.db, ": has no target '", f.target, "'");
  }
  const std::string text = format == "json" ? export_lut_json(store, f.target) : export_lut_csv(store, f.target);
  if (f.out.empty() || f.out == "-") {
    std::cout << text;
  } else {
    write_text_file_atomic(f.out, text);
    std::cerr << "wrote " << f.out << '\n';
  }
}

struct ImportFlags {
  std::string db, in, format, target;
};

void run_import(const ImportFlags& f) {
  const std::string format = infer_format(f.format, f.in, "--in", /*peers=*/true);
  const bool peer = format == "proxyless" || format == "hw-nas-bench";
  DNAS_CHECK(peer || f.target.empty(), "--target: only for a peer's table (--format proxyless or hw-nas-bench); ",
             "dnas exports name their targets");
  DNAS_CHECK(!peer || !f.target.empty(), "--target: required with --format ", format,
             " (the device the peer's table was measured on, e.g. s8)");
  const std::string text = read_text_file(f.in);
  std::optional<PeerTable> peer_table;
  if (peer) peer_table = read_peer_table(text, parse_peer_format(format, "--format"), f.in);
  std::error_code ec;
  const bool existed = fs::exists(f.db, ec);
  ensure_parent_directory(f.db);
  ImportSummary s;
  try {
    LutStore store(f.db, OpenMode::kCreate);
    s = peer_table ? import_peer_table(store, *peer_table, parse_peer_format(format, "--format"), f.target, f.in)
        : format == "json" ? (is_phone_results(text, f.in) ? import_phone_results(store, text, f.in)
                                                         : import_lut_json(store, text, f.in))
                           : import_lut_csv(store, text, f.in);
  } catch (...) {
    // The import is one transaction, so an existing table is unchanged; a table this command
    // created is removed with its SQLite side files, so a failed import leaves nothing behind.
    if (!existed)
      for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(f.db + suffix, ec);
    throw;
  }
  std::cout << "imported " << s.measurements << " measurements from " << s.runs << " runs into " << f.db << '\n';
}

// ---- lut export-ops ---------------------------------------------------------------------------

struct ExportOpsFlags {
  std::string space, arch, out;
  std::optional<int64_t> input_size, input_channels, num_classes;
  int64_t batch = 1;
};

void run_export_ops(const ExportOpsFlags& f) {
  DNAS_CHECK(f.space.empty() != f.arch.empty(), "lut export-ops: give exactly one of --space and --arch");
  DNAS_CHECK(f.input_channels.value_or(1) > 0, "--input-channels: expected > 0, got ", f.input_channels.value_or(0));
  DNAS_CHECK(f.num_classes.value_or(1) > 0, "--num-classes: expected > 0, got ", f.num_classes.value_or(0));
  const LutSettings settings{f.batch, "fp32", "nchw"};
  check_lut_settings(settings, "--batch");
  std::vector<BlockToTime> blocks;
  std::string source;
  if (!f.space.empty()) {
    const SearchSpace space = space_for(f.space, f.input_channels.value_or(0), f.num_classes.value_or(0));
    blocks = enumerate_space_blocks(resolve_space(space, f.input_size, space.name), settings);
    source = space.name;
  } else {
    ArchSpec arch = load_arch(f.arch);
    if (f.input_channels) arch.input_channels = *f.input_channels;
    if (f.num_classes) arch.num_classes = *f.num_classes;
    blocks = enumerate_arch_blocks(resolve_arch(arch, f.input_size, f.arch), settings);
    source = f.arch;
  }
  std::error_code ec;
  fs::create_directories(f.out, ec);
  DNAS_CHECK(!ec && fs::is_directory(f.out, ec), f.out, ": cannot create the output directory");
  json models = json::array();
  ProgressBar bar("exporting blocks", blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    const BlockToTime& b = blocks[i];
    torch::manual_seed(0);
    torch::nn::AnyModule module = make_block(*b.op, b.args);
    module.ptr()->eval();
    ResolvedLayer layer;
    layer.spec.op = b.op->key;
    layer.args = b.args;
    char name[32];
    std::snprintf(name, sizeof name, "%03zu.ptl", i);
    export_block_torchscript(*module.ptr(), layer, (fs::path(f.out) / name).string(), /*lite=*/true);
    models.push_back({{"file", name}, {"key", b.key.str()},
                      {"input_dims", {f.batch, b.args.input.channels, b.args.input.height, b.args.input.width}}});
    bar.update(i + 1, b.key.op);
  }
  bar.finish();
  const std::string manifest = (fs::path(f.out) / "manifest.json").string();
  write_text_file_atomic(manifest, json{{"format", "dnas-export-ops/1"}, {"source", source}, {"batch", f.batch},
                                        {"dtype", "fp32"}, {"memory_format", "nchw"}, {"models", models}}
                                       .dump(2) + "\n");
  std::cout << "wrote " << blocks.size() << " lite-interpreter models and " << manifest
            << "; time them on a phone with scripts/profile-android.sh " << f.out << "\n";
}

// ---- lut validate ----------------------------------------------------------------------------

struct ValidateFlags {
  std::string db, target, space;
  int64_t archs = 30;
  uint64_t seed = 0;
  bool as_json = false, estimate_missing = false, no_store = false;
  int64_t anchors = static_cast<int64_t>(kAnchors);
  TimingFlags timing;
};

void run_validate(ValidateFlags f) {
  const TargetSpec target = load_target(f.target);
  const SearchSpace space = load_space(f.space);
  const TimingOptions timing = f.timing.resolve(target);
  const std::string db_path = table_for_lookup(target, f.db);
  DNAS_CHECK(f.archs >= 4, "--archs: expected at least 4, got ", f.archs);
  const LatencyTable table(target, db_path, timing.settings, f.estimate_missing);
  DNAS_CHECK(f.anchors >= 0 && f.anchors <= 1000, "--anchors: expected a value in [0, 1000], got ", f.anchors);
  // The table's canary reference and up to --anchors of the space's stored rows, re-timed as
  // profile-latency times blocks by default (the burst their rows were most likely stored with).
  double reference_us = 0;
  ValidationAnchors anchors;
  if (!db_path.empty() && !f.timing.as_timed) {
    const LutStore store(db_path, OpenMode::kExisting);
    reference_us =
        store.canary_reference(target.name, at::get_num_threads(), timing.device, timing.settings).value_or(0.0);
    if (reference_us > 0)
      anchors.rows = stored_anchors(store, target, enumerate_space_blocks(resolve_space(space), timing.settings),
                                    timing, static_cast<size_t>(f.anchors));
    anchors.timing = with_profile_burst(timing);
  }
  ProgressBar bar_rounds("timing archs in rounds",
                         (static_cast<size_t>(f.archs) + anchors.rows.blocks.size()) * static_cast<size_t>(f.timing.rounds),
                         !f.as_json);
  const ValidationReport report = validate_table(table, space, static_cast<size_t>(f.archs), f.seed, timing,
                                                 f.timing.config().rounds_options(), reference_us, anchors,
                                                 [&](size_t done, size_t) { bar_rounds.update(done); });
  bar_rounds.finish();
  const bool store_correction = !f.no_store && !db_path.empty();
  if (store_correction) {
    LutStore store(db_path, OpenMode::kExisting);
    store.put_correction({target.name, space.name, utc_now(), report.scale, report.offset_us, f.archs,
                          report.raw.mape, report.corrected.mape});
  }
  if (f.as_json) {
    json archs = json::array();
    for (const ArchValidation& a : report.archs) {
      json rounds = json::array();
      for (const ItemRound& r : a.rounds)
        rounds.push_back({{"round", r.round}, {"samples_us", r.samples}, {"canary_us", r.canary_us},
                          {"attempts", r.attempts}, {"settled", r.settled}});
      archs.push_back({{"choices", a.choices}, {"predicted_us", a.predicted_us}, {"measured_us", a.measured_us},
                       {"even_us", a.even_us}, {"odd_us", a.odd_us}, {"corrected_us", a.corrected_us},
                       {"rounds", rounds}});
    }
    std::cout << json{{"target", target.name}, {"space", space.name}, {"db", db_path}, {"archs", archs},
                      {"estimated", report.estimated}, {"mape", report.raw.mape},
                      {"max_error", report.raw.max_error}, {"kendall_tau", report.raw.kendall_tau},
                      {"noise_floor", report.noise_floor}, {"rounds", f.timing.rounds},
                      {"anchors", report.anchors.anchors == 0 ? json(nullptr)
                                                              : anchors_json(report.anchors, report.table_reference_us)},
                      {"canary", {{"reference_us", report.canary_reference_us},
                                  {"baseline_us", report.canary.baseline_us},
                                  {"median_drift", report.canary.median_drift},
                                  {"max_drift", report.canary.max_drift}, {"remeasured", report.canary.remeasured},
                                  {"unsettled", report.canary.unsettled}, {"noisy", report.canary.noisy()}}},
                      {"correction", {{"scale", report.scale}, {"offset_us", report.offset_us},
                                      {"stored", store_correction}}},
                      {"corrected", {{"mape", report.corrected.mape}, {"max_error", report.corrected.max_error},
                                     {"kendall_tau", report.corrected.kendall_tau}}}}
                     .dump(2)
              << '\n';
    return;
  }
  Table table_out({"#", "predicted", "measured", "error", "corrected", "error"}, {true, true, true, true, true, true});
  for (size_t i = 0; i < report.archs.size(); ++i) {
    const ArchValidation& a = report.archs[i];
    table_out.add_row({std::to_string(i), format_us(a.predicted_us), format_us(a.measured_us),
                       percent((a.predicted_us - a.measured_us) / a.measured_us), format_us(a.corrected_us),
                       percent((a.corrected_us - a.measured_us) / a.measured_us)});
  }
  table_out.print(std::cout);
  std::cout << "\n" << report.archs.size() << " random " << space.name << " archs on " << target.name
            << (db_path.empty() ? " (no table at " + target.lut + ": every prediction is a roofline ESTIMATE)" : "")
            << (report.estimated ? " (predictions use ESTIMATED rows)" : "") << "\n"
            << "  summed table:  median |error| " << percent(report.raw.mape) << ", max " << percent(report.raw.max_error)
            << ", Kendall tau " << report.raw.kendall_tau << "\n"
            << "  noise floor:   " << percent(report.noise_floor)
            << " (median difference of each arch between its even and odd rounds; errors near it are noise)\n"
            << "  canary:        median drift +" << percent(report.canary.median_drift) << ", "
            << report.canary.remeasured << " arch-rounds re-measured, " << report.canary.unsettled
            << " never settled" << (report.canary.noisy() ? " -- NOISY machine, rerun when it is quieter" : "")
            << "\n"
            << "  timings:       "
            << (report.anchors.anchors > 0
                    ? in_table_units(report.table_reference_us, report.anchors, "among the networks") +
                          "; this run's canary baseline " + format_us(report.canary.baseline_us) + ")"
                    : report.canary_reference_us > 0
                    ? "normalized to the table's canary reference " + format_us(report.canary_reference_us) +
                          " (this run's canary baseline " + format_us(report.canary.baseline_us) + ")"
                    : f.timing.as_timed ? std::string("as timed (--as-timed)")
                                        : std::string("as timed (the table has no canary reference for this setting: "
                                                      "profiled before dnas normalized to one, or --as-timed)"))
            << "\n"
            << "  corrected:     median |error| " << percent(report.corrected.mape) << ", max "
            << percent(report.corrected.max_error) << ", Kendall tau " << report.corrected.kendall_tau
            << "  (2-fold cross-validated)\n"
            << "  correction:    measured = " << report.scale << " x predicted + " << format_us(report.offset_us)
            << (store_correction ? " (stored in " + db_path + ")" : " (not stored)") << "\n";
}

}  // namespace

void add_profile_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "profile-latency",
      "Measure every block a search space can produce on this machine into an SQLite latency table\n"
      "Times each distinct block (every candidate of every searchable layer, plus stem and head) in\n"
      "interleaved rounds: each round times every block once, in a seeded random order of its own, so a slow\n"
      "spell spoils one round of many blocks rather than every repeat of a few. A canary kernel timed\n"
      "between blocks re-measures the rounds it catches on a slow machine; a run that never settles is\n"
      "marked noisy. Every round is scaled by the table's canary reference over the canary read after it, and\n"
      "a profile into a table that has rows re-times up to --anchors (8) of them in the same rounds and scales\n"
      "its new rows by their median stored / re-timed, so a table profiled in parts, or re-profiled, and\n"
      "`lut validate` later, all share the units of the table's first run even when the machine drifts or\n"
      "throttles in between, or changes state as a canary kernel does not tell (--as-timed: as timed). Stores the\n"
      "median over rounds of each round's 20th percentile, with p10 / p90 / mean / std over all samples,\n"
      "the run's provenance and the machine's conditions (governor, frequency,\n"
      "temperatures, steal, load), warning when they spoil timings.\n"
      "Resumable, round by round: blocks already measured for the target with the same threads and device\n"
      "are skipped, and rounds an interrupted run stored are kept.\n"
      "Examples:\n"
      "  dnas profile-latency --space small --target host-cpu --db luts/host-cpu.db\n"
      "  dnas profile-latency --space fbnet --target host-cpu --dry-run\n"
      "  dnas profile-latency --arch fbnet_c --target host-cpu      # a zoo model's own blocks");
  auto f = std::make_shared<ProfileFlags>(cmd);
  cmd->add_flag("--dry-run", f->dry_run, "List the blocks that would be timed, and time nothing");
  cmd->add_flag("--json", f->as_json, "Print a JSON summary instead of text and progress");
  cmd->callback([f] { run_profile_command(*f); });
}

void add_lut_command(CLI::App& app) {
  CLI::App* lut = app.add_subcommand("lut", "Inspect, export, import and validate latency tables");
  lut->require_subcommand(1);

  auto list = std::make_shared<ListFlags>();
  CLI::App* list_cmd = lut->add_subcommand(
      "list",
      "List targets, or a table's targets, runs and coverage of a space\n"
      "Without --db: the configured targets and their default tables. With --db: its targets, profiling\n"
      "runs (with provenance) and, with --space, how much of that space each target covers.");
  list_cmd->add_option("--db", list->db, "Latency table file");
  list_cmd->add_option("--space", list->space, "Report coverage of this space");
  list_cmd->add_option("--input", list->input_size, "Input size for coverage (default: the space's)");
  list_cmd->add_option("--batch", list->timing.batch, "Batch for coverage")->capture_default_str();
  list_cmd->add_option("--dtype", list->timing.dtype, "dtype for coverage")->capture_default_str();
  list_cmd->add_option("--lut-layout", list->timing.lut_layout, "The table's memory format for coverage")
      ->capture_default_str();
  list_cmd->add_flag("--json", list->as_json, "Print JSON");
  list_cmd->callback([list] { run_list(*list); });

  auto exp = std::make_shared<ExportFlags>();
  CLI::App* export_cmd = lut->add_subcommand(
      "export", "Write a table's measurements (with run provenance) as CSV or JSON; import reads either back exactly");
  export_cmd->add_option("--db", exp->db, "Latency table file")->required();
  export_cmd->add_option("--target", exp->target, "Only this target");
  export_cmd->add_option("--format", exp->format, "csv or json (default: from --out, else csv)");
  export_cmd->add_option("--out", exp->out, "Output file, written atomically (default: stdout)");
  export_cmd->callback([exp] { run_export(*exp); });

  auto imp = std::make_shared<ImportFlags>();
  CLI::App* import_cmd = lut->add_subcommand(
      "import", "Add the rows of a CSV or JSON export, of phone results, or of a peer's published table to a table\n"
      "(created if needed). All-or-nothing: a malformed file or row, or a peer key that maps onto no dnas\n"
      "block exactly, writes nothing (every such key is listed with its reason).\n"
      "Peers' tables (values in ms; stored with source import:<format>):\n"
      "  proxyless     ProxylessNAS / OFA latency YAML: expanded_conv-input:112x112x16-output:56x56x24-expand:3-...\n"
      "  hw-nas-bench  HW-NAS-Bench FBNet-space blocks, JSON {key: ms} or CSV `key,ms`: ConvBlock_H.._W.._Cin.._...\n"
      "Example: dnas lut import --db luts/pixel1.db --in mobile_trim.yaml --format proxyless --target pixel1");
  import_cmd->add_option("--db", imp->db, "Latency table file")->required();
  import_cmd->add_option("--in", imp->in, "CSV or JSON from `dnas lut export`, or results from scripts/profile-android.sh")
      ->required();
  import_cmd->add_option("--format", imp->format,
                         "csv, json (default: from the file name), proxyless or hw-nas-bench (a peer's table)");
  import_cmd->add_option("--target", imp->target, "The target a peer's table was measured on (peers' formats only)");
  import_cmd->callback([imp] { run_import(*imp); });

  auto ops = std::make_shared<ExportOpsFlags>();
  CLI::App* ops_cmd = lut->add_subcommand(
      "export-ops",
      "Write one PyTorch Mobile (lite) model per latency-table key, plus a manifest, for phone profiling\n"
      "scripts/profile-android.sh times them with speed_benchmark_torch over adb and imports the results.\n"
      "Example: dnas lut export-ops --space fbnet --out ops/ && scripts/profile-android.sh --target s8 ops/");
  ops_cmd->add_option("--space", ops->space, "Search space name or .yaml");
  ops_cmd->add_option("--arch", ops->arch, "Or: one architecture's blocks");
  ops_cmd->add_option("--out", ops->out, "Output directory")->required();
  ops_cmd->add_option("--input", ops->input_size, "Input size (default: the space's / arch's)");
  ops_cmd->add_option("--input-channels", ops->input_channels, "Input channels");
  ops_cmd->add_option("--num-classes", ops->num_classes, "Classes");
  ops_cmd->add_option("--batch", ops->batch, "Batch size")->capture_default_str();
  ops_cmd->callback([ops] { run_export_ops(*ops); });

  auto val = std::make_shared<ValidateFlags>();
  CLI::App* validate_cmd = lut->add_subcommand(
      "validate",
      "Check a latency table against whole networks timed end to end on this machine\n"
      "Samples random archs from a space, predicts each by summing table rows, times each end to end in\n"
      "interleaved rounds (as profile-latency times blocks), and reports median |error|, max error and\n"
      "Kendall tau beside the measurement's own noise floor; fits and stores a linear correction.\n"
      "Example: dnas lut validate --db luts/host-cpu.db --target host-cpu --space fbnet --archs 30");
  validate_cmd->add_option("--db", val->db,
                           "Latency table file (default: the target's; if that does not exist, estimates)");
  validate_cmd->add_option("--target", val->target, "Target name or .yaml path")->required();
  validate_cmd->add_option("--space", val->space, "Search space name or .yaml path")->required();
  validate_cmd->add_option("--archs", val->archs, "Number of random architectures")->capture_default_str();
  validate_cmd->add_option("--seed", val->seed, "Sampling seed")->capture_default_str();
  val->timing.add_to(validate_cmd);
  validate_cmd->add_flag("--estimate-missing", val->estimate_missing, "Use labelled estimates for missing rows");
  validate_cmd->add_flag("--no-store", val->no_store, "Do not store the fitted correction");
  validate_cmd->add_option("--anchors", val->anchors,
                           "Stored rows of the space re-timed first, whose median stored / re-timed carries the "
                           "networks' timings into the table's units (0: the canary reference alone)")
      ->capture_default_str();
  validate_cmd->add_flag("--json", val->as_json, "Print JSON (mape and max_error as fractions, kendall_tau)");
  validate_cmd->callback([val] { run_validate(*val); });
}

}  // namespace dnas::cli

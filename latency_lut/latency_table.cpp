#include "latency_lut/latency_table.h"

#include <filesystem>

#include "latency_lut/roofline.h"
#include "common/error.h"
#include "ops/registry.h"

namespace dnas {

std::string table_for_lookup(const TargetSpec& target, const std::string& db) {
  if (!db.empty()) return db;
  std::error_code ec;
  return std::filesystem::exists(target.lut, ec) ? target.lut : "";
}

std::string describe_lut_settings(const LutSettings& settings) {
  return detail::concat("batch ", settings.batch, " / ", settings.dtype, " / ", settings.memory_format);
}

namespace {

// The `dnas search` flags that turn `from` into `to` ("--lut-layout nhwc"), or with `as_keys` the
// target config's keys ("lut_layout: nhwc").
std::string settings_change(const LutSettings& from, const LutSettings& to, bool as_keys) {
  std::vector<std::pair<std::string, std::string>> changes;
  if (to.batch != from.batch) changes.push_back({"batch", std::to_string(to.batch)});
  if (to.dtype != from.dtype) changes.push_back({"dtype", to.dtype});
  if (to.memory_format != from.memory_format) changes.push_back({"layout", to.memory_format});
  std::string out;
  for (const auto& [what, value] : changes)
    out += as_keys ? (out.empty() ? "" : ", ") + ("lut_" + what + ": " + value)
                   : (out.empty() ? "" : " ") + ("--lut-" + what + " " + value);
  return out;
}

}  // namespace

double SpaceLatency::fixed_us() const {
  double total = 0;
  for (const LatencyValue& v : stem) total += v.us;
  for (const LatencyValue& v : head) total += v.us;
  return total;
}

double ArchLatency::total_us() const {
  double total = 0;
  for (const LatencyValue& v : layers) total += v.us;
  return total;
}

LatencyTable::LatencyTable(const TargetSpec& target, const std::string& db_path, const LutSettings& settings,
                           bool estimate_missing)
    : target_(target), db_path_(db_path), settings_(settings), estimate_missing_(estimate_missing) {
  check_lut_settings(settings, "latency table");
  if (!db_path.empty()) {
    const LutStore store(db_path, OpenMode::kExisting);
    medians_ = store.medians(target.name, settings);
    if (medians_.empty()) other_settings_ = store.settings_measured(target.name);
    correction_ = store.correction(target.name);
  }
}

std::string LatencyTable::other_settings_message(const std::string& space_name) const {
  std::string measured, flags;
  for (size_t i = 0; i < other_settings_.size(); ++i) {
    const auto& [settings, rows] = other_settings_[i];
    const std::string separator = i == 0 ? "" : i + 1 == other_settings_.size() ? " and " : ", ";
    measured += separator + describe_lut_settings(settings) + " (" + std::to_string(rows) + " rows)";
    flags += (i == 0 ? "" : i + 1 == other_settings_.size() ? " or " : ", ") + settings_change(settings_, settings, false);
  }
  const bool one = other_settings_.size() == 1;
  const std::string config = target_.origin.empty() ? "the target's config" : target_.origin;
  return detail::concat(
      db_path_, ": target ", target_.name, " has no rows at ", describe_lut_settings(settings_), "; it has ", measured,
      ". Pick ", one ? "it" : "one", " with ", flags, " (or ",
      one ? settings_change(settings_, other_settings_[0].first, true) : std::string("the same lut_* keys"), " in ",
      config, "), or measure ", describe_lut_settings(settings_), " with: dnas profile-latency --space ",
      space_name.empty() ? "<space>" : space_name, " --target ", target_.name, " --db ", db_path_, " --batch ",
      settings_.batch, " --dtype ", settings_.dtype, " --lut-layout ", settings_.memory_format);
}

std::map<std::string, LatencyValue> LatencyTable::resolve(const std::vector<BlockToTime>& blocks,
                                                          const std::string& space_name) const {
  if (!other_settings_.empty()) throw Error(other_settings_message(space_name));
  std::map<std::string, LatencyValue> out;
  std::vector<std::string> missing;
  const bool estimate_all = medians_.empty();
  for (const BlockToTime& block : blocks) {
    const std::string key = block.key.str();
    if (auto it = medians_.find(key); it != medians_.end()) {
      out[key] = {it->second, false};
    } else if (estimate_all || estimate_missing_) {
      out[key] = {roofline_estimate_us(block.cost, block.args.input, target_, settings_), true};
    } else {
      missing.push_back(key);
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const std::string& key : missing) list += (list.empty() ? "" : ", ") + key;
    throw Error(detail::concat(
        db_path_, ": target ", target_.name, " has no measurement for ", missing.size(), " of ", blocks.size(),
        " blocks: ", list, ". Measure them with: dnas profile-latency --space ",
        space_name.empty() ? "<space>" : space_name, " --target ", target_.name, " --db ", db_path_, " --batch ",
        settings_.batch, " --dtype ", settings_.dtype, " --lut-layout ", settings_.memory_format,
        " (or allow labelled estimates with --estimate-missing)"));
  }
  return out;
}

SpaceLatency LatencyTable::for_space(const ResolvedSpace& space, const std::string& space_name) const {
  const std::map<std::string, LatencyValue> values = resolve(enumerate_space_blocks(space, settings_), space_name);
  SpaceLatency out;
  auto value = [&](const std::string& op_key, const BlockArgs& args) {
    const OpDef& op = OpRegistry::builtin().at(op_key, space_name);
    const LatencyValue v = values.at(make_lut_key(op, args, settings_).str());
    out.any_estimated = out.any_estimated || v.estimated;
    return v;
  };
  for (const ResolvedLayer& l : space.stem) out.stem.push_back(value(l.spec.op, l.args));
  for (const ResolvedSpaceLayer& layer : space.layers) {
    std::vector<LatencyValue> row;
    for (const CandidateCost& c : layer.candidates) row.push_back(value(c.op, c.args));
    out.layers.push_back(std::move(row));
  }
  for (const ResolvedLayer& l : space.head) out.head.push_back(value(l.spec.op, l.args));
  return out;
}

ArchLatency LatencyTable::for_arch(const ResolvedArch& arch, const std::string& space_name) const {
  const std::map<std::string, LatencyValue> values = resolve(enumerate_arch_blocks(arch, settings_), space_name);
  ArchLatency out;
  for (const ResolvedLayer& l : arch.layers) {
    const LatencyValue v = values.at(make_lut_key(OpRegistry::builtin().at(l.spec.op, l.label()), l.args, settings_).str());
    out.any_estimated = out.any_estimated || v.estimated;
    out.layers.push_back(v);
  }
  return out;
}

}  // namespace dnas

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
    correction_ = store.correction(target.name);
  }
}

std::map<std::string, LatencyValue> LatencyTable::resolve(const std::vector<BlockToTime>& blocks,
                                                          const std::string& space_name) const {
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
        settings_.batch, " --dtype ", settings_.dtype, " --memory-format ", settings_.memory_format,
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

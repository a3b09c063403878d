// Lookup for the search: the latency in microseconds of every (searchable layer, candidate) of a
// space, and of every layer of an arch, on one target.
//
// Policy: a measured row always wins. Rows are looked up at one setting (batch, dtype, layout;
// lut_key.h). A target with no measured rows at all falls back to the roofline estimate
// (roofline.h) for everything, and every value says it is estimated. A target measured only at
// other settings is an error naming the setting asked for, the ones the table has (with their row
// counts), how to pick one and how to measure this one -- estimating everything then would ignore
// the table. A target with some rows at the setting but not all is an error listing every missing
// key and the `dnas profile-latency` command that would measure them -- unless `estimate_missing`
// is set, which fills the gaps with labelled estimates.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "latency_lut/block_enumeration.h"
#include "latency_lut/lut_store.h"
#include "latency_lut/target_spec.h"

namespace dnas {

struct LatencyValue {
  double us = 0;
  bool estimated = false;
};

struct SpaceLatency {
  std::vector<LatencyValue> stem;
  std::vector<std::vector<LatencyValue>> layers;  // [searchable layer][candidate], space order
  std::vector<LatencyValue> head;
  bool any_estimated = false;
  double fixed_us() const;  // stem + head
};

struct ArchLatency {
  std::vector<LatencyValue> layers;  // stem, layers, head in order
  bool any_estimated = false;
  double total_us() const;
};

// Which table to look latencies up in: an explicit `db` must exist (a typo should not silently
// become an estimate), while the target's default table (`lut` in its config) may not exist yet,
// which means no measured rows and so labelled estimates: returns "" then.
std::string table_for_lookup(const TargetSpec& target, const std::string& db);

// "batch 1 / fp32 / nchw".
std::string describe_lut_settings(const LutSettings& settings);

class LatencyTable {
 public:
  // `db_path` may be empty (no table: estimates only); otherwise it must exist.
  // `space_name` in the lookups names the space in the suggested profiling command; the lookups
  // throw the errors the policy above describes.
  LatencyTable(const TargetSpec& target, const std::string& db_path, const LutSettings& settings,
               bool estimate_missing = false);

  SpaceLatency for_space(const ResolvedSpace& space, const std::string& space_name) const;
  ArchLatency for_arch(const ResolvedArch& arch, const std::string& space_name) const;

  const TargetSpec& target() const { return target_; }
  const LutSettings& settings() const { return settings_; }
  size_t measured_rows() const { return medians_.size(); }
  // The validation fit for this target, if `lut validate` stored one.
  const std::optional<Correction>& correction() const { return correction_; }

 private:
  // The error for a table measured for this target only at settings other than settings_.
  std::string other_settings_message(const std::string& space_name) const;
  // Looks up each block; throws listing every missing key.
  std::map<std::string, LatencyValue> resolve(const std::vector<BlockToTime>& blocks,
                                              const std::string& space_name) const;

  TargetSpec target_;
  std::string db_path_;
  LutSettings settings_;
  bool estimate_missing_;
  std::map<std::string, double> medians_;
  std::vector<std::pair<LutSettings, int64_t>> other_settings_;  // with rows, when none are at settings_
  std::optional<Correction> correction_;
};

}  // namespace dnas

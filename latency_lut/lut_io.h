// Export and import of latency tables, with an exact round trip (export -> import into an empty
// table -> export gives the same bytes):
//   CSV  one row per measurement, with its target and run provenance inline (header below);
//   JSON {"format": "dnas-lut/1", "targets": [...], "runs": [...], "measurements": [...],
//         "corrections": [...]}, measurements referring to runs by index.
// Import is all-or-nothing: a malformed file or row (named by file and line / index, and field)
// throws dnas::Error and writes nothing. Imported rows replace rows with the same target and key.
#pragma once

#include <string>
#include <vector>

#include "latency_lut/lut_store.h"

namespace dnas {

std::string export_lut_csv(const LutStore& store, const std::string& target = "");
std::string export_lut_json(const LutStore& store, const std::string& target = "");

struct ImportSummary {
  size_t measurements = 0;
  size_t runs = 0;
};
ImportSummary import_lut_csv(LutStore& store, const std::string& text, const std::string& origin);
ImportSummary import_lut_json(LutStore& store, const std::string& text, const std::string& origin);

// Results of timing exported blocks on a phone with PyTorch's speed_benchmark_torch
// (scripts/profile-android.sh): {"format": "dnas-phone-results/1", "target", "device", "host",
// "started_at", "finished_at", "warmup", "iters", "results": [{"key", "us_per_iter"}]}.
// speed_benchmark_torch reports a mean per iteration only, so median = p10 = p90 = mean, std 0.
ImportSummary import_phone_results(LutStore& store, const std::string& text, const std::string& origin);
// True when `text` is such a results document (for choosing the importer).
bool is_phone_results(const std::string& text, const std::string& origin);

// Writes one imported run (its target created with `device` when new) and its `rows`, each given
// the run's id, in one transaction: all of them or, on an error, none. For the importers above and
// import_peer_table.
ImportSummary store_imported_run(LutStore& store, const RunRecord& run, const std::string& device,
                                 std::vector<MeasurementRow> rows);

}  // namespace dnas

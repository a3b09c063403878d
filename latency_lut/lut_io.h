// Export and import of latency tables, with an exact round trip (export -> import into an empty
// table -> export gives the same bytes):
//   CSV  one row per measurement, with its target and run provenance inline (header below);
//   JSON {"format": "dnas-lut/1", "targets": [...], "runs": [...], "measurements": [...],
//         "corrections": [...]}, measurements referring to runs by index.
// Import is all-or-nothing: a malformed file or row (named by file and line / index, and field)
// throws dnas::Error and writes nothing. Imported rows replace rows with the same target and key.
#pragma once

#include <string>

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

}  // namespace dnas

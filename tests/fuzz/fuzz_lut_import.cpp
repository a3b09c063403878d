// Latency-table imports into an in-memory table: the first byte picks the importer (CSV, dnas-lut
// JSON, phone results), the rest is the file. Rows that pass must read back.
#include "latency_lut/lut_io.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t kind = data[0] % 3;
  return dnas::fuzz::run_one(data + 1, size - 1, [kind](const std::string& text) {
    dnas::LutStore store(":memory:", dnas::OpenMode::kCreate);
    if (kind == 0) dnas::import_lut_csv(store, text, "fuzz.csv");
    else if (kind == 1) dnas::import_lut_json(store, text, "fuzz.json");
    else dnas::import_phone_results(store, text, "fuzz.json");
    (void)store.measurements("");
  });
}

// Search-space YAML (dnas-space/1): parse (aliases, nesting), validate and resolve every candidate.
#include "supernet/space_spec.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dnas::fuzz::run_one(data, size, [](const std::string& text) {
    const dnas::SearchSpace space = dnas::parse_space_text(text, "fuzz.yaml");
    (void)dnas::resolve_space(space, std::nullopt, "fuzz.yaml");
  });
}

// Arch JSON (dnas-arch/1): parse, validate, resolve shapes and count params and MACs.
#include "supernet/arch_spec.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dnas::fuzz::run_one(data, size, [](const std::string& text) {
    const dnas::ArchSpec arch = dnas::parse_arch_text(text, "fuzz.json");
    const dnas::ResolvedArch resolved = dnas::resolve_arch(arch, std::nullopt, "fuzz.json");
    (void)resolved.total_params();
    (void)resolved.total_macs();
    (void)dnas::arch_to_json(arch).dump();
  });
}

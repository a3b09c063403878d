// Peers' latency tables (ProxylessNAS YAML, HW-NAS-Bench JSON / CSV): the first byte picks the
// format (even: proxyless, odd: hw-nas-bench), the rest is the file. What maps must import into an
// in-memory table and read back; a table with unmappable keys must be refused.
#include "latency_lut/peer_import.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const dnas::PeerFormat format = data[0] % 2 ? dnas::PeerFormat::kHwNasBench : dnas::PeerFormat::kProxyless;
  return dnas::fuzz::run_one(data + 1, size - 1, [format](const std::string& text) {
    const dnas::PeerTable table = dnas::read_peer_table(text, format, "fuzz");
    dnas::LutStore store(":memory:", dnas::OpenMode::kCreate);
    dnas::import_peer_table(store, table, format, "peer", "fuzz");
    (void)store.measurements("");
  });
}

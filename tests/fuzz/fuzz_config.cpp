// Run configs (config.json of `dnas search` and `dnas train`, also read by --config): the first byte
// picks which; the rest is the file. Every field goes through its field table's type and range.
#include "search/search_config.h"
#include "tests/fuzz/fuzz_support.h"
#include "train/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool search = data[0] % 2 == 0;
  return dnas::fuzz::run_one(data + 1, size - 1, [search](const std::string& text) {
    const dnas::Json document = dnas::parse_json_text(text, "config.json");
    if (search) {
      const dnas::SearchConfig config = dnas::config_from_json(document, "config.json");
      config.validate();
      (void)dnas::config_to_json(config).dump();
    } else {
      const dnas::TrainConfig config = dnas::train_config_from_json(document, "config.json");
      config.validate();
      (void)dnas::train_config_to_json(config).dump();
    }
  });
}

#include "search/run_state.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "ops/error.h"
#include "supernet/config_store.h"

namespace dnas {
namespace {

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t derive_seed(int64_t seed, int64_t epoch, int64_t phase, int64_t step) {
  return mix(mix(mix(mix(static_cast<uint64_t>(seed)) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(phase)) ^
             static_cast<uint64_t>(step));
}

void clear_gradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups())
    for (auto& p : group.params()) p.mutable_grad() = torch::Tensor();
}

void append_jsonl(const std::string& path, const nlohmann::json& line) {
  std::ofstream out(path, std::ios::app);
  out << line.dump() << '\n';
  out.flush();
  DNAS_CHECK(out.good(), path, ": cannot append");
}

void truncate_jsonl(const std::string& path, int64_t epoch) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return;
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("epoch", int64_t{-1}) < epoch) kept += line + "\n";
  }
  write_text_file_atomic(path, kept);
}

void save_archive_atomic(torch::serialize::OutputArchive& archive, const std::string& path) {
  const std::string temp = path + ".tmp";
  archive.save_to(temp);
  DNAS_CHECK(std::rename(temp.c_str(), path.c_str()) == 0, path, ": cannot write");
}

}  // namespace dnas

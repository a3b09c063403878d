#include "train/checkpoint.h"

#include <torch/serialize/input-archive.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/file_io.h"

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

void append_jsonl(const std::string& path, const nlohmann::json& line) { append_line(path, line.dump()); }

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
  write_file_atomic(path, [&](const std::string& temp) {
    try {
      archive.save_to(temp);
    } catch (const c10::Error& error) {
      const std::string message = error.what_without_backtrace();
      throw Error(path + ": cannot write (" + message.substr(0, message.find('\n')) + ")");
    }
  });
}

void save_checkpoint(const std::string& path, const CheckpointParts& parts, const at::Tensor& progress) {
  torch::serialize::OutputArchive archive;
  for (const auto& [name, module] : parts.modules) {
    torch::serialize::OutputArchive part;
    module->save(part);
    archive.write(name, part);
  }
  for (const auto& [name, optimizer] : parts.optimizers) {
    torch::serialize::OutputArchive part;
    optimizer->save(part);
    archive.write(name, part);
  }
  archive.write("progress", progress);
  save_archive_atomic(archive, path);
}

at::Tensor load_checkpoint(const std::string& path, const CheckpointParts& parts) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    for (const auto& [name, module] : parts.modules) {
      torch::serialize::InputArchive part;
      archive.read(name, part);
      module->load(part);
    }
    for (const auto& [name, optimizer] : parts.optimizers) {
      torch::serialize::InputArchive part;
      archive.read(name, part);
      optimizer->load(part);
    }
    at::Tensor progress;
    archive.read("progress", progress);
    return progress;
  } catch (const c10::Error& e) {
    const std::string message = e.what_without_backtrace();
    throw Error(path + ": cannot load checkpoint (" + message.substr(0, message.find('\n')) + ")");
  }
}

void throw_bad_progress(const std::string& where, size_t found, size_t expected) {
  throw Error(detail::concat(where, ": the checkpoint holds ", found, " progress counters, this dnas expects ", expected,
                             " (written by another version?)"));
}

}  // namespace dnas

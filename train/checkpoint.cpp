#include "train/checkpoint.h"

#include <torch/serialize/input-archive.h>

#include <cstdio>

#include "common/error.h"
#include "common/file_io.h"

namespace dnas {
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

void save_checkpoint(const std::string& path, const CheckpointParts& parts, const at::Tensor& progress,
                     const std::string& config_text) {
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
  if (!config_text.empty()) {
    const std::vector<uint8_t> bytes(config_text.begin(), config_text.end());
    archive.write("config", at::tensor(bytes, at::kByte), /*is_buffer=*/true);
  }
  save_archive_atomic(archive, path);
}

std::optional<std::string> checkpoint_config(const std::string& path) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    at::Tensor bytes;
    if (!archive.try_read("config", bytes, /*is_buffer=*/true)) return std::nullopt;
    bytes = bytes.contiguous();
    const auto* data = bytes.data_ptr<uint8_t>();
    return std::string(data, data + bytes.numel());
  } catch (const c10::Error& e) {
    const std::string message = e.what_without_backtrace();
    throw Error(path + ": cannot load checkpoint (" + message.substr(0, message.find('\n')) + ")");
  }
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

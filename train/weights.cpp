#include "train/weights.h"

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <filesystem>
#include <sstream>

#include "common/error.h"
#include "train/checkpoint.h"

namespace dnas {
namespace {

std::string shape(const torch::Tensor& t) {
  std::ostringstream out;
  out << "[";
  for (int64_t d = 0; d < t.dim(); ++d) out << (d ? ", " : "") << t.size(d);
  return out.str() + "]";
}

}  // namespace

void save_weights(const torch::nn::Module& module, const std::string& path) {
  torch::serialize::OutputArchive archive;
  for (const auto& p : module.named_parameters()) archive.write(p.key(), p.value().detach().cpu());
  for (const auto& b : module.named_buffers()) archive.write(b.key(), b.value().cpu(), /*is_buffer=*/true);
  save_archive_atomic(archive, path);
}

void load_weights(torch::nn::Module& module, const std::string& path) {
  std::error_code ec;
  DNAS_CHECK(std::filesystem::is_regular_file(path, ec), path, ": no such weights file");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw Error(path + ": not a dnas weights file (cannot read it as a LibTorch archive)");
  }
  torch::NoGradGuard no_grad;
  auto load = [&](const std::string& name, torch::Tensor& target, bool is_buffer) {
    torch::Tensor stored;
    if (!archive.try_read(name, stored, is_buffer))
      throw Error(path + ": " + name + ": missing from the weights file (the arch expects " + shape(target) +
                  "; were these weights trained for another arch?)");
    if (stored.sizes() != target.sizes())
      throw Error(path + ": " + name + ": shape " + shape(stored) + " in the weights file, " + shape(target) +
                  " in the arch");
    target.copy_(stored);
  };
  for (auto& p : module.named_parameters()) load(p.key(), p.value(), false);
  for (auto& b : module.named_buffers()) load(b.key(), b.value(), true);
}

}  // namespace dnas

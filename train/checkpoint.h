// Checkpoints: the modules, optimizers and progress counters of a run in one LibTorch archive,
// written atomically (common/file_io.h), and the packing of a run's progress counters into the
// tensor the archive holds. The run directory (run_dir.h) says where they live.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <ATen/ops/tensor.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/output-archive.h>

namespace dnas {

// Saves to a temporary file and renames it over `path`.
void save_archive_atomic(torch::serialize::OutputArchive& archive, const std::string& path);

// What a checkpoint holds besides its progress counters, each under its archive name.
struct CheckpointParts {
  std::vector<std::pair<std::string, torch::nn::Module*>> modules;
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers;
};
// Writes the parts, `progress` and the run's config.json text (when given) atomically to `path`.
void save_checkpoint(const std::string& path, const CheckpointParts& parts, const at::Tensor& progress,
                     const std::string& config_text = "");
// The config.json text a checkpoint was written with; nullopt for checkpoints without one.
std::optional<std::string> checkpoint_config(const std::string& path);
// Loads the parts in place and returns the progress tensor; throws dnas::Error
// "<path>: cannot load checkpoint (...)" for a damaged or foreign file.
at::Tensor load_checkpoint(const std::string& path, const CheckpointParts& parts);

[[noreturn]] void throw_bad_progress(const std::string& where, size_t found, size_t expected);

// Progress counters listed once: `P` has `template <typename F> void fields(F&& f)` calling f on
// each int64_t or double member in a fixed order; these pack them into (and out of) a tensor.
template <typename P>
at::Tensor pack_fields(P progress) {
  std::vector<double> values;
  progress.fields([&](auto& field) { values.push_back(static_cast<double>(field)); });
  return at::tensor(values, at::kDouble);
}
// `oldest` is the count of counters the oldest checkpoints that still load hold: counters added
// since then (at the end of fields()) keep their defaults when a checkpoint lacks them.
template <typename P>
P unpack_fields(const at::Tensor& packed, const std::string& where, size_t oldest = 0) {
  const at::Tensor values = packed.to(at::kDouble).contiguous();
  P progress;
  size_t expected = 0;
  progress.fields([&](auto&) { ++expected; });
  const size_t found = static_cast<size_t>(values.numel());
  if (values.dim() != 1 || found > expected || found < (oldest > 0 ? oldest : expected))
    throw_bad_progress(where, found, expected);
  const double* v = values.data_ptr<double>();
  size_t i = 0;
  progress.fields([&](auto& field) {
    if (i < found) field = static_cast<std::decay_t<decltype(field)>>(v[i]);
    ++i;
  });
  return progress;
}

}  // namespace dnas

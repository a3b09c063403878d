// The pieces that make a training run resumable bit-exactly, shared by the search and retraining:
// per-step seeds derived from (seed, epoch, phase, step), gradients unset rather than zeroed,
// append-only JSONL logs trimmed back to a checkpoint's epoch, and atomically written archives.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/optim/optimizer.h>
#include <torch/serialize/output-archive.h>

namespace dnas {

// A well-mixed 64-bit seed for one step of one phase of one epoch (step -1: the epoch's order).
uint64_t derive_seed(int64_t seed, int64_t epoch, int64_t phase, int64_t step);

// Unsets every gradient: LibTorch optimisers skip parameters without one, so parameters that did
// not take part in a step (unsampled candidates) are not moved by stale momentum or weight decay.
void clear_gradients(torch::optim::Optimizer& optimizer);

void append_jsonl(const std::string& path, const nlohmann::json& line);
// Keeps only the lines whose "epoch" is below `epoch` (those a resumed run will not redo).
void truncate_jsonl(const std::string& path, int64_t epoch);

// Saves to a temporary file and renames it over `path`.
void save_archive_atomic(torch::serialize::OutputArchive& archive, const std::string& path);

}  // namespace dnas

#include "train/run_dir.h"

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/file_io.h"

namespace dnas {

namespace fs = std::filesystem;

RunDir::RunDir(std::string dir, std::string what, std::vector<std::string> logs, const World& world)
    : dir_(std::move(dir)), what_(std::move(what)), logs_(std::move(logs)), world_(world) {}

std::string RunDir::path(const std::string& file) const { return (fs::path(dir_) / file).string(); }

bool RunDir::has_checkpoint() const {
  std::error_code ec;
  return fs::exists(checkpoint_path(), ec);
}

void RunDir::check_resumable() const {
  std::error_code ec;
  DNAS_CHECK(fs::exists(config_path(), ec) && has_checkpoint(), dir_, ": no ", what_,
             " to resume here (expected config.json and checkpoint.pt)");
}

void RunDir::check_new() const {
  std::error_code ec;
  DNAS_CHECK(!fs::exists(config_path(), ec), dir_, ": already holds a ", what_,
             " (config.json); use --resume to continue it, or another --out");
}

std::string RunDir::read_saved_config() const { return read_text_file(config_path()); }

namespace {

// "epochs 3 -> 9; lr_w 0.1 -> 0.2"
std::string join_changes(const std::vector<std::string>& changes) {
  std::string list;
  for (const std::string& c : changes) list += (list.empty() ? "" : "; ") + c;
  return list;
}

}  // namespace

void RunDir::refuse_changes(const std::vector<std::string>& changes) const {
  if (changes.empty()) return;
  throw Error("--resume: the configuration differs from " + config_path() + " (" + join_changes(changes) +
              "); resume continues the same " + what_ + ", so start a new --out to change it");
}

void RunDir::refuse_edits(const std::vector<std::string>& changes) const {
  if (changes.empty()) return;
  throw Error("--resume: " + config_path() + " was edited after " + checkpoint_path() + " was written (" +
              join_changes(changes) + "); put it back, or start a new --out");
}

void RunDir::create(const Json& config) const {
  if (!world_.is_main()) return;
  config_text_ = config.dump(2) + "\n";
  std::error_code ec;
  created_dir_ = !fs::exists(dir_, ec);
  fs::create_directories(dir_, ec);
  DNAS_CHECK(!ec, dir_, ": cannot create the run directory (", ec.message(), ")");
  write_text_file_atomic(config_path(), config_text_);
  for (const std::string& log : logs_) write_text_file_atomic(path(log), "");
}

void RunDir::discard_unsaved() const {
  if (!world_.is_main() || has_checkpoint()) return;
  std::error_code ec;
  fs::remove(config_path(), ec);
  for (const std::string& log : logs_) fs::remove(path(log), ec);
  for (const std::string& file : written_) fs::remove(path(file), ec);
  if (created_dir_) fs::remove(dir_, ec);  // only when empty: nothing of the user's goes
}

void RunDir::append(const std::string& log, const Json& line) const {
  if (world_.is_main()) append_line(path(log), line.dump());
}

void RunDir::truncate_logs(int64_t epoch) const {
  if (!world_.is_main()) return;
  for (const std::string& log : logs_) {
    const std::string file = path(log);
    std::error_code ec;
    if (!fs::exists(file, ec)) continue;
    std::ifstream in(file);
    std::string line, kept;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const Json j = Json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("epoch", int64_t{-1}) < epoch) kept += line + "\n";
    }
    write_text_file_atomic(file, kept);
  }
}

void RunDir::write(const std::string& file, const std::string& text) const {
  if (!world_.is_main()) return;
  write_text_file_atomic(path(file), text);
  written_.push_back(file);
}

void RunDir::save_checkpoint(const CheckpointParts& parts, const at::Tensor& progress) const {
  if (world_.is_main()) dnas::save_checkpoint(checkpoint_path(), parts, progress, config_text_);
}

at::Tensor RunDir::load_checkpoint(const CheckpointParts& parts) const {
  return dnas::load_checkpoint(checkpoint_path(), parts);
}

}  // namespace dnas

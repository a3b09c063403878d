// The run directory every search and training run writes, in one place: the resolved config
// (config.json), append-only JSONL logs, and checkpoint.pt (written atomically: temp file, fsync,
// rename). A new run refuses a directory that already holds one; --resume needs config.json and a
// checkpoint and refuses a config that no longer matches the saved one, naming the changed keys,
// and a config.json edited since the checkpoint was written (each checkpoint holds a copy).
// Distributed, rank 0 alone checks and writes; the other ranks read the same checkpoint, so the
// directory must be on a file system they all see.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "common/config_fields.h"
#include "common/json.h"
#include "train/checkpoint.h"
#include "train/distributed.h"

namespace dnas {

class RunDir {
 public:
  // `what` names the run in messages ("search", "training run"); `logs` are the JSONL files it
  // keeps ("log.jsonl", "theta.jsonl").
  RunDir(std::string dir, std::string what, std::vector<std::string> logs, const World& world);

  std::string path(const std::string& file) const;
  std::string config_path() const { return path("config.json"); }
  std::string checkpoint_path() const { return path("checkpoint.pt"); }

  // Rank 0 checks that the directory can hold this run: a new one must not exist yet; a resume
  // compares `config` with the saved one field by field. Writes nothing.
  template <typename Config>
  void check(bool resume, const ConfigFields<Config>& fields, const Config& config) const {
    world_.on_main([&] {
      if (resume) {
        check_resumable();
        const std::string saved_path = config_path(), text = read_saved_config();
        const Config saved = fields.from_json(parse_json_text(text, saved_path), saved_path);
        if (const auto original = checkpoint_config(checkpoint_path()))  // config.json edited by hand?
          refuse_edits(fields.differences(fields.from_json(parse_json_text(*original, checkpoint_path()),
                                                           checkpoint_path()),
                                          saved));
        refuse_changes(fields.differences(saved, config));
        config_text_ = text;
      } else {
        check_new();
      }
    });
  }
  // Rank 0, for a new run, once its inputs have loaded: creates the directory with config.json
  // and empty logs, so a run refused for bad input leaves nothing behind.
  void create(const Json& config) const;

  // Rank 0, for a run that stops before its first checkpoint: removes what create() and write()
  // wrote, so the same command can be run again (a run directory without a checkpoint can be
  // neither resumed nor reused).
  void discard_unsaved() const;

  // Rank 0: one line appended to `log`.
  void append(const std::string& log, const Json& line) const;
  // Rank 0: drops the log lines of epochs >= `epoch` (those a resumed run redoes).
  void truncate_logs(int64_t epoch) const;
  // Rank 0: writes any other file of the run atomically.
  void write(const std::string& file, const std::string& text) const;

  // Rank 0 writes; every rank loads (into the parts, in place) and gets the progress tensor back.
  void save_checkpoint(const CheckpointParts& parts, const at::Tensor& progress) const;
  at::Tensor load_checkpoint(const CheckpointParts& parts) const;
  bool has_checkpoint() const;

 private:
  void check_resumable() const;
  void check_new() const;
  std::string read_saved_config() const;
  void refuse_changes(const std::vector<std::string>& changes) const;
  void refuse_edits(const std::vector<std::string>& changes) const;

  std::string dir_, what_;
  mutable std::string config_text_;   // config.json as created or verified: saved in each checkpoint
  mutable bool created_dir_ = false;  // create() made the directory (discard_unsaved() may remove it)
  std::vector<std::string> logs_;
  mutable std::vector<std::string> written_;  // files write() made
  const World& world_;
};

// Calls run.discard_unsaved() when the scope it guards is left by an exception (a corrupt image,
// a failing disk): a run that fails before its first checkpoint leaves nothing behind.
class DiscardUnsavedOnError {
 public:
  explicit DiscardUnsavedOnError(const RunDir& run) : run_(run), exceptions_(std::uncaught_exceptions()) {}
  ~DiscardUnsavedOnError() {
    if (std::uncaught_exceptions() <= exceptions_) return;
    try {
      run_.discard_unsaved();
    } catch (...) {  // the first error is the one to report
    }
  }
  DiscardUnsavedOnError(const DiscardUnsavedOnError&) = delete;
  DiscardUnsavedOnError& operator=(const DiscardUnsavedOnError&) = delete;

 private:
  const RunDir& run_;
  int exceptions_;
};

}  // namespace dnas

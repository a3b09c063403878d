// Helpers shared by the GoogleTest suites: a scratch directory per test, the message of the
// dnas::Error a call throws, and BlockArgs for a square input.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include "common/error.h"
#include "ops/op_def.h"

namespace dnas::testing {

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() : path_(std::filesystem::temp_directory_path() /
                    ("dnas_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

// The what() of the dnas::Error `f` throws, or "<no error>".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

inline BlockArgs args_for(int64_t in, int64_t out, int64_t stride, int64_t size) {
  BlockArgs args;
  args.input = {in, size, size};
  args.out_channels = out;
  args.stride = stride;
  return args;
}

}  // namespace dnas::testing

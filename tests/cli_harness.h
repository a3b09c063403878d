// Helpers for end-to-end tests of the `dnas` program (DNAS_BINARY, set by CMake): run it with
// arguments, capture stdout / stderr / exit code, and assert the one-line error contract.
#pragma once

#include <gtest/gtest.h>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

extern "C" char** environ;

namespace dnas::testing {

namespace fs = std::filesystem;

struct Result {
  int exit_code;
  std::string out;
  std::string err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The records of a JSONL file (a run's log.jsonl), one per non-empty line.
inline std::vector<nlohmann::json> read_jsonl(const fs::path& file) {
  std::ifstream in(file);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

inline std::string dnas_command(const std::string& args) { return std::string(DNAS_BINARY) + " " + args; }

// Runs `dnas ARGS`, in `cwd` when it is given; with a timeout, a run past it is killed (exit 124).
inline Result run(const std::string& args, const fs::path& cwd = {}, int timeout_s = 0) {
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() / ("dnas_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  fs::create_directories(dir);
  const std::string command = (cwd.empty() ? "" : "cd '" + cwd.string() + "' && ") +
                              (timeout_s > 0 ? "timeout -k 2 " + std::to_string(timeout_s) + " " : "") +
                              dnas_command(args) + " > " +
                              (dir / "out").string() + " 2> " + (dir / "err").string();
  const int status = std::system(command.c_str());
  Result r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir / "out"), slurp(dir / "err")};
  fs::remove_all(dir);
  return r;
}

inline fs::path write_temp(const std::string& name, const std::string& text) {
  const fs::path path = fs::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path;
}

inline void expect_one_line_error(const Result& r, const std::string& fragment) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "expected exactly one line: " << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("frame #"), std::string::npos) << "a LibTorch stack trace leaked: " << r.err;
}

// Starts `dnas ARGS` in the background (output discarded); returns its pid for kill / waitpid.
inline pid_t spawn(const std::string& args) {
  const std::string command = "exec " + dnas_command(args) + " > /dev/null 2>&1";
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  return pid;
}

// A fixture with a scratch directory named after the test, removed afterwards.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dnas_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

}  // namespace dnas::testing

#include "common/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace dnas {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail_write(const std::string& path, const std::string& reason) {
  throw Error(path + ": cannot write (" + reason + ")");
}

// fsync of a file or directory by path; false (errno set) when it cannot be opened or synced.
bool sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return false;
  const bool synced = ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return synced;
}

}  // namespace

std::string special_file_kind(const std::string& path) {
  std::error_code ec;
  switch (fs::status(path, ec).type()) {
    case fs::file_type::directory: return "directory";
    case fs::file_type::character: return "character device";
    case fs::file_type::block: return "block device";
    case fs::file_type::fifo: return "FIFO";
    case fs::file_type::socket: return "socket";
    case fs::file_type::regular:
    case fs::file_type::not_found:
    case fs::file_type::none: return "";
    default: return "special file";
  }
}

void check_input_file(const std::string& path) {
  const std::string kind = special_file_kind(path);
  if (!kind.empty()) throw Error(path + ": is a " + kind + ", expected a regular file");
  std::error_code ec;  // not_found only: another failure to stat (EACCES ...) is left to the reader's open
  if (fs::status(path, ec).type() == fs::file_type::not_found)
    throw Error(path + ": cannot read file (" + std::strerror(ENOENT) + ")");
}

std::string read_text_file(const std::string& path) {
  check_input_file(path);
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (!ec && size > static_cast<uintmax_t>(kMaxReadBytes))
    throw Error(detail::concat(path, ": is ", size, " bytes, more than the ", kMaxReadBytes,
                               " (1 GiB) dnas reads into memory"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read file (" + std::strerror(errno) + ")");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void check_output_path(const std::string& path) {
  const std::string kind = special_file_kind(path);
  DNAS_CHECK(kind.empty(), path, ": exists and is a ", kind,
             ", not a regular file; refusing to replace it (write to a file path)");
}

void write_file_atomic(const std::string& path, const std::function<void(const std::string& temp_path)>& write) {
  check_output_path(path);
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  DNAS_CHECK(fs::is_directory(dir, ec), path, ": cannot write (directory ", dir.string(), " does not exist)");
  std::string temp = (dir / ("." + target.filename().string() + ".tmpXXXXXX")).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) fail_write(path, std::strerror(errno));
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);  // mkstemp creates 0600; give the file the usual permissions
  ::close(fd);
  try {
    write(temp);
    if (!sync_path(temp, O_RDONLY)) fail_write(path, std::strerror(errno));
    check_output_path(path);  // again: something may have appeared there while we wrote
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(temp.c_str());
    fail_write(path, reason);
  }
  sync_path(dir.string(), O_RDONLY | O_DIRECTORY);  // the rename itself; best effort
}

void write_text_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, [&](const std::string& temp) {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) fail_write(path, std::strerror(errno));
  });
}

void append_line(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  out << line << '\n';
  out.flush();
  DNAS_CHECK(out.good(), path, ": cannot append");
}

}  // namespace dnas

// Reading inputs and writing outputs safely, for every command:
//   - inputs must be regular files of bounded size: a directory, FIFO, device or socket is refused
//     before it is opened (reading a FIFO or /dev/urandom would block or never end);
//   - outputs are written atomically: a temporary file beside the target, fsync'ed, renamed over
//     the target, then the directory fsync'ed, so readers never see a half-written file, a crash
//     leaves the old file or the new one, and a failure leaves no partial file behind;
//   - an output path that exists and is not a regular file is never replaced (atomic writes rename
//     over their target, which would turn /dev/full into a regular file).
// Every failure is a dnas::Error "<path>: ..." naming the reason.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace dnas {

// The most read_text_file() reads into memory.
constexpr int64_t kMaxReadBytes = int64_t{1} << 30;

// Refuses a path that does not exist or is not a regular file (before a library opens it: LibTorch
// would block on a FIFO).
void check_input_file(const std::string& path);

// Reads a whole regular file of at most kMaxReadBytes.
std::string read_text_file(const std::string& path);

// "" for a regular file or a path that does not exist; otherwise what it is ("directory",
// "FIFO", "character device" ...), for messages.
std::string special_file_kind(const std::string& path);

// Refuses an output path that exists and is not a regular file.
void check_output_path(const std::string& path);

// Writes `path` atomically: `write` is given a fresh temporary path in the same directory and must
// create the complete file there (or throw); it is then fsync'ed and renamed over `path`. A
// failure of `write` removes the temporary file and rethrows.
void write_file_atomic(const std::string& path, const std::function<void(const std::string& temp_path)>& write);

// write_file_atomic with `text` as the content.
void write_text_file_atomic(const std::string& path, const std::string& text);

// Appends one line (a '\n' is added) to a log file, creating it if needed, and flushes it.
void append_line(const std::string& path, const std::string& line);

}  // namespace dnas

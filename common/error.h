// dnas::Error: the one exception type for bad user input (configs, op keys, shapes, paths).
// Its message is a single line meant for a person: what was expected, what was found, and where.
// The CLI prints what() as-is and exits with status 2; nothing else should catch it silently.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace dnas {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

// Throws dnas::Error with the streamed concatenation of `parts` unless `condition` holds.
#define DNAS_CHECK(condition, ...)                                  \
  do {                                                              \
    if (!(condition)) throw ::dnas::Error(::dnas::detail::concat(__VA_ARGS__)); \
  } while (false)

// A broken invariant of dnas itself, never a user's mistake: the CLI prints it as an internal
// error (exit 1) with the file and line that caught it.
class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& message) : std::logic_error(message) {}
};

#define DNAS_ASSERT(condition, ...)                                                                       \
  do {                                                                                                    \
    if (!(condition))                                                                                     \
      throw ::dnas::InternalError(::dnas::detail::concat(__FILE__, ":", __LINE__, ": ", #condition, ": ", \
                                                         __VA_ARGS__));                                   \
  } while (false)

}  // namespace dnas

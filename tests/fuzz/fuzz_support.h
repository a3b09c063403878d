// What every fuzz target asserts: bad input is a dnas::Error (the CLI's one-line error, exit 2);
// any other exception, a crash, a sanitizer report, a hang or unbounded memory is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.h"

namespace dnas::fuzz {

template <typename Parse>
int run_one(const uint8_t* data, size_t size, Parse parse) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    parse(text);
  } catch (const dnas::Error&) {
    // Refused with a message: what bad input must get.
  }
  return 0;
}

}  // namespace dnas::fuzz

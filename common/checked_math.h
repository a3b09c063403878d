// Arithmetic on counts (parameters, MACs, elements, bytes) that cannot wrap: an overflow of
// int64 is a dnas::Error naming what was being counted, never a negative figure.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "common/error.h"

namespace dnas {

inline int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t out = 0;
  DNAS_CHECK(!__builtin_mul_overflow(a, b, &out), what, " overflows 64 bits (", a, " x ", b,
             "): channels or input size far too large");
  return out;
}

inline int64_t checked_product(std::initializer_list<int64_t> factors, const char* what) {
  int64_t out = 1;
  for (int64_t f : factors) out = checked_mul(out, f, what);
  return out;
}

inline int64_t checked_add(int64_t a, int64_t b, const char* what) {
  int64_t out = 0;
  DNAS_CHECK(!__builtin_add_overflow(a, b, &out), what, " overflows 64 bits (", a, " + ", b,
             "): channels or input size far too large");
  return out;
}

}  // namespace dnas

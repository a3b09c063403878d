#include "ops/allocator.h"

#include <malloc.h>

namespace dnas {

bool keep_large_buffers_on_heap() {
#if defined(__GLIBC__)
  const bool threshold = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1;
  const bool trim = mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024) == 1;
  return threshold && trim;
#else
  return false;
#endif
}

}  // namespace dnas

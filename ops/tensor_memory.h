// Bytes of tensor storage on the CPU, current and peak: the CPU counterpart of the CUDA caching
// allocator's statistics, for benchmarks. install() wraps LibTorch's CPU allocator
// (c10::SetCPUAllocator) with one that counts every allocation until its storage is freed;
// storage allocated before install() is not counted. Unlike the resident set size, the peak
// excludes the libraries, freed heap the allocator keeps, and memory outside tensors.
#pragma once

#include <cstdint>

namespace dnas {

class CpuTensorMemory {
 public:
  static void install();  // idempotent
  static int64_t current_bytes();
  static int64_t peak_bytes();
  static void reset_peak();  // peak := current
};

}  // namespace dnas

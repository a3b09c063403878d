// Process-wide allocator tuning for steady CPU performance. LibTorch's CPU tensors come from
// glibc malloc, whose defaults mmap() large buffers (feature maps of a few MB) and munmap() them
// on free, and trim the heap top: every forward pass then page-faults its activations afresh, and
// how often depends on allocator history. Measured on the fbnet space at 224 (bench/README.md): a
// 16->96->16 inverted residual at 112x112 took 12-24 ms by default, and a steady 12.4 ms both in
// isolation and inside a network with large buffers kept on the heap. Call once, first thing in
// main(), before any tensor exists. The dnas CLI skips it when DNAS_MALLOC_DEFAULTS=1 is set.
#pragma once

namespace dnas {

// Keeps buffers up to 32 MB (glibc's ceiling for this setting) on the heap and stops trimming.
// Returns false if the C library refused (non-glibc); harmless either way.
bool keep_large_buffers_on_heap();

}  // namespace dnas

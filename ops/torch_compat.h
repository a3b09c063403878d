// Every difference between the LibTorch versions dnas builds against (Debian's 1.13 and 2.x,
// e.g. trixie's 2.6 or a GPU host's pip wheel) lives here, so the rest of the code is written
// once. Each entry names the version that changed the API.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/version.h>

// True when the LibTorch being compiled against is at least major.minor.
#define DNAS_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// c10::Allocator::allocate lost its `const` in 2.3, which also made copy_data pure virtual.
#if DNAS_TORCH_AT_LEAST(2, 3)
#define DNAS_ALLOCATE_CONST
#define DNAS_ALLOCATOR_NEEDS_COPY_DATA 1
#else
#define DNAS_ALLOCATE_CONST const
#define DNAS_ALLOCATOR_NEEDS_COPY_DATA 0
#endif

// c10d::TCPStoreOptions gained `useLibUV` (the libuv server backend) in 2.2; 2.4 made it the
// default, which LibTorch builds without libuv refuse at run time.
#define DNAS_TCPSTORE_LIBUV_OPTION DNAS_TORCH_AT_LEAST(2, 3)

namespace c10d {
class Backend;
class ProcessGroup;
}  // namespace c10d

namespace dnas::compat {

// 2.0 made the Gloo and NCCL groups c10d::Backend objects; before, they were ProcessGroups. Both
// expose the collectives dnas uses with the same signatures.
#if TORCH_VERSION_MAJOR >= 2
using CommunicationGroup = c10d::Backend;
#else
using CommunicationGroup = c10d::ProcessGroup;
#endif

// CUDA autocast state: 2.4 replaced the GPU-only functions (deprecated since) with ones that take
// the device type.
#if DNAS_TORCH_AT_LEAST(2, 4)
inline bool cuda_autocast_enabled() { return at::autocast::is_autocast_enabled(at::kCUDA); }
inline void set_cuda_autocast_enabled(bool on) { at::autocast::set_autocast_enabled(at::kCUDA, on); }
inline at::ScalarType cuda_autocast_dtype() { return at::autocast::get_autocast_dtype(at::kCUDA); }
inline void set_cuda_autocast_dtype(at::ScalarType dtype) { at::autocast::set_autocast_dtype(at::kCUDA, dtype); }
#else
inline bool cuda_autocast_enabled() { return at::autocast::is_enabled(); }
inline void set_cuda_autocast_enabled(bool on) { at::autocast::set_enabled(on); }
inline at::ScalarType cuda_autocast_dtype() { return at::autocast::get_autocast_gpu_dtype(); }
inline void set_cuda_autocast_dtype(at::ScalarType dtype) { at::autocast::set_autocast_gpu_dtype(dtype); }
#endif

}  // namespace dnas::compat

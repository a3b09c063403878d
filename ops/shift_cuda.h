// The shift's CUDA kernel, built only when LibTorch has CUDA and a CUDA compiler is found
// (DNAS_WITH_CUDA_SHIFT); the CPU build never sees this header. Torch-free: ops/shift.cpp passes
// raw pointers and LibTorch's current stream.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "ops/shift_geometry.h"

namespace dnas {

// Launches one shift pass on `stream`: writes every element of the destination, whose memory is
// dense in NCHW or NHWC order (`to_channels_last`). `element_size` is 1, 2, 4 or 8 bytes: the
// shift only moves data, so the dtype matters only through its size. Returns the launch status.
cudaError_t launch_shift_cuda(const ShiftPass& pass, bool to_channels_last, const void* from, void* to,
                              int64_t element_size, cudaStream_t stream);

}  // namespace dnas

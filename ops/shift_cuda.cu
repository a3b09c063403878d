#include "ops/shift_cuda.h"

#include <algorithm>

namespace dnas {
namespace {

// One thread per destination element, grid-stride.
template <typename Element>
__global__ void shift_kernel(ShiftPass pass, bool to_channels_last, const Element* __restrict__ from,
                             Element* __restrict__ to, int64_t total) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step)
    shift_element(pass, to_channels_last, i, from, to);
}

template <typename Element>
cudaError_t launch(const ShiftPass& pass, bool to_channels_last, const void* from, void* to, cudaStream_t stream) {
  const int64_t total = pass.batch * pass.channels * pass.to_h * pass.to_w;
  if (total == 0) return cudaSuccess;
  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>((total + kThreads - 1) / kThreads, int64_t{1} << 20);
  shift_kernel<Element><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
      pass, to_channels_last, static_cast<const Element*>(from), static_cast<Element*>(to), total);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_shift_cuda(const ShiftPass& pass, bool to_channels_last, const void* from, void* to,
                              int64_t element_size, cudaStream_t stream) {
  switch (element_size) {
    case 1: return launch<uint8_t>(pass, to_channels_last, from, to, stream);
    case 2: return launch<uint16_t>(pass, to_channels_last, from, to, stream);
    case 4: return launch<uint32_t>(pass, to_channels_last, from, to, stream);
    case 8: return launch<uint64_t>(pass, to_channels_last, from, to, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace dnas

// Index arithmetic of the ShiftNet shift, shared by the CPU loops (ops/shift.cpp) and the CUDA
// kernel (ops/shift_cuda.cu), so the tests of the CPU path check the very mapping the GPU uses.
// Torch-free and header-only: it compiles as host code and, under nvcc, as device code.
//
// The shift: channels split evenly over the k x k directions (row-major over the window; the
// first C mod k^2 directions take one extra channel); the channels of direction (dy, dx) are
// moved by (dy - k/2, dx - k/2) with zero padding and subsampled by the stride:
//   out[n, c, h, w] = in[n, c, h * stride + dy - k/2, w * stride + dx - k/2]   (0 outside).
// Its adjoint (the backward pass) sends every output element back where it was read from:
//   grad_in[n, c, h, w] = grad_out[n, c, (h + k/2 - dy) / stride, ...]  when that divides exactly
// and lands inside, else 0. Both are gathers: every destination element is written exactly once.
#pragma once

#include <cstdint>

#ifdef __CUDACC__
#define DNAS_HOST_DEVICE __host__ __device__
#else
#define DNAS_HOST_DEVICE
#endif

namespace dnas {

// One pass of the shift: forward (input -> output) or adjoint (output gradient -> input gradient),
// from one strided tensor into another. Strides are in elements, in N, C, H, W order.
struct ShiftPass {
  int64_t batch = 0, channels = 0;
  int64_t kernel = 1, stride = 1;
  bool adjoint = false;
  int64_t from_h = 0, from_w = 0;  // spatial size of the tensor read
  int64_t to_h = 0, to_w = 0;      // spatial size of the tensor written
  int64_t from_stride[4] = {0, 0, 0, 0};
  int64_t to_stride[4] = {0, 0, 0, 0};
};

// Output size of a shift along one spatial axis.
DNAS_HOST_DEVICE inline int64_t shift_output_size(int64_t input_size, int64_t stride) {
  return (input_size - 1) / stride + 1;
}

// The direction (row-major index into the k x k window) that channel c belongs to.
DNAS_HOST_DEVICE inline int64_t shift_direction(int64_t c, int64_t channels, int64_t kernel) {
  const int64_t directions = kernel * kernel;
  const int64_t base = channels / directions, extra = channels % directions;
  const int64_t boundary = extra * (base + 1);  // channels held by the directions with an extra one
  return c < boundary ? c / (base + 1) : extra + (c - boundary) / base;
}

// Along one axis: the index read for destination index `to` by a channel whose window offset on
// that axis is `offset` (0 .. k-1), or -1 where the destination gets a zero.
DNAS_HOST_DEVICE inline int64_t shift_source_index(const ShiftPass& p, int64_t to, int64_t offset,
                                                   int64_t from_size) {
  const int64_t moved = offset - p.kernel / 2;
  if (!p.adjoint) {
    const int64_t from = to * p.stride + moved;
    return from >= 0 && from < from_size ? from : -1;
  }
  const int64_t scaled = to - moved;
  if (scaled < 0 || scaled % p.stride != 0) return -1;
  const int64_t from = scaled / p.stride;
  return from < from_size ? from : -1;
}

// The element offset read for destination element (n, c, h, w), or -1 where it gets a zero.
DNAS_HOST_DEVICE inline int64_t shift_read_offset(const ShiftPass& p, int64_t n, int64_t c, int64_t h,
                                                  int64_t w) {
  const int64_t direction = shift_direction(c, p.channels, p.kernel);
  const int64_t from_h = shift_source_index(p, h, direction / p.kernel, p.from_h);
  const int64_t from_w = shift_source_index(p, w, direction % p.kernel, p.from_w);
  if (from_h < 0 || from_w < 0) return -1;
  return n * p.from_stride[0] + c * p.from_stride[1] + from_h * p.from_stride[2] + from_w * p.from_stride[3];
}

DNAS_HOST_DEVICE inline int64_t shift_write_offset(const ShiftPass& p, int64_t n, int64_t c, int64_t h,
                                                   int64_t w) {
  return n * p.to_stride[0] + c * p.to_stride[1] + h * p.to_stride[2] + w * p.to_stride[3];
}

// Writes destination element i, counted in the destination's own dense memory order (NCHW, or
// NHWC when `to_channels_last`), so that consecutive i write consecutive addresses. This is the
// body of one CUDA thread; the tests also run it on the host, element by element.
template <typename Element>
DNAS_HOST_DEVICE inline void shift_element(const ShiftPass& p, bool to_channels_last, int64_t i,
                                           const Element* from, Element* to) {
  int64_t n, c, h, w;
  if (to_channels_last) {
    c = i % p.channels;
    i /= p.channels;
    w = i % p.to_w;
    i /= p.to_w;
    h = i % p.to_h;
    n = i / p.to_h;
  } else {
    w = i % p.to_w;
    i /= p.to_w;
    h = i % p.to_h;
    i /= p.to_h;
    c = i % p.channels;
    n = i / p.channels;
  }
  const int64_t read = shift_read_offset(p, n, c, h, w);
  to[shift_write_offset(p, n, c, h, w)] = read < 0 ? Element(0) : from[read];
}

}  // namespace dnas

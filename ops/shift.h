// The ShiftNet shift as a differentiable op of its own: pure data movement, no multiply-adds.
// Forward and backward are single gathers (ops/shift_geometry.h) run by a CPU loop, or by a CUDA
// kernel when dnas is built against a LibTorch with CUDA (DNAS_WITH_CUDA_SHIFT). Both passes
// keep the input's memory format (NCHW or channels-last) and work for any dtype.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace dnas {

// Shift x [N, C, H, W] by the k x k window (k odd), subsampled by `stride`; the result is
// [N, C, (H - 1) / stride + 1, (W - 1) / stride + 1]. Differentiable to any order (its gradient
// is the adjoint shift, whose gradient is the shift again).
at::Tensor shift(const at::Tensor& x, int64_t kernel, int64_t stride);

// The same shift composed of LibTorch ops (zero pad, one strided slice per direction, concat):
// the independent reference the tests and bench/ compare the kernels against.
at::Tensor shift_by_slicing(const at::Tensor& x, int64_t kernel, int64_t stride);

}  // namespace dnas

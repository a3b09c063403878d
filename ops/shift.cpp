#include "ops/shift.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/empty.h>
#include <torch/csrc/autograd/custom_function.h>

#include "common/error.h"
#include "ops/shift_geometry.h"

#ifdef DNAS_WITH_CUDA_SHIFT
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "ops/shift_cuda.h"
#endif

namespace dnas {
namespace {

constexpr bool kHasCudaKernel =
#ifdef DNAS_WITH_CUDA_SHIFT
    true;
#else
    false;
#endif

// The CPU pass: the same per-axis source indices as shift_element(), tabulated once per call
// (there are only k^2 directions), then block copies: in NHWC, the channels of one direction are
// contiguous and all read the same source pixel; in NCHW, a row of a stride-1 shift is one run of
// source columns between zero edges.
template <typename Element>
void shift_pass_cpu(const ShiftPass& p, bool to_channels_last, const Element* from, Element* to) {
  const int64_t directions = p.kernel * p.kernel;
  std::vector<int64_t> rows(directions * p.to_h), cols(directions * p.to_w);
  std::vector<int64_t> first_channel(directions + 1, 0);  // direction d holds [first[d], first[d + 1])
  struct ColumnRun {
    int64_t begin = 0, end = 0;  // destination columns with a source; outside them, zeros
    bool dense = true;           // and their sources are consecutive columns
  };
  std::vector<ColumnRun> runs(directions);
  for (int64_t d = 0; d < directions; ++d) {
    for (int64_t h = 0; h < p.to_h; ++h) rows[d * p.to_h + h] = shift_source_index(p, h, d / p.kernel, p.from_h);
    const int64_t* col = cols.data() + d * p.to_w;
    for (int64_t w = 0; w < p.to_w; ++w) cols[d * p.to_w + w] = shift_source_index(p, w, d % p.kernel, p.from_w);
    ColumnRun& run = runs[d];
    for (int64_t w = 0; w < p.to_w; ++w) {
      if (col[w] < 0) continue;
      if (run.end == 0) run.begin = w;
      run.end = w + 1;
    }
    for (int64_t w = run.begin; w < run.end; ++w) run.dense = run.dense && col[w] == col[run.begin] + (w - run.begin);
  }
  for (int64_t c = 0; c < p.channels; ++c) ++first_channel[shift_direction(c, p.channels, p.kernel) + 1];
  for (int64_t d = 0; d < directions; ++d) first_channel[d + 1] += first_channel[d];
  const int64_t* fs = p.from_stride;
  const int64_t* ts = p.to_stride;
  auto copy = [](const Element* in, int64_t in_step, Element* out, int64_t out_step, int64_t count) {
    if (in_step == 1 && out_step == 1 && count <= 16) {  // a few channels: cheaper than a call to memcpy
      for (int64_t i = 0; i < count; ++i) out[i] = in[i];
    } else if (in_step == 1 && out_step == 1) {
      std::memcpy(out, in, static_cast<size_t>(count) * sizeof(Element));
    } else {
      for (int64_t i = 0; i < count; ++i) out[i * out_step] = in[i * in_step];
    }
  };
  auto zero = [](Element* out, int64_t out_step, int64_t count) {
    for (int64_t i = 0; i < count; ++i) out[i * out_step] = Element(0);
  };

  if (to_channels_last) {
    // One (n, h) row of pixels per iteration, direction by direction: along the row, each
    // direction's block of channels comes from source pixels a fixed stride apart.
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, p.to_w * p.channels));
    at::parallel_for(0, p.batch * p.to_h, grain, [&](int64_t begin, int64_t end) {
      for (int64_t nh = begin; nh < end; ++nh) {
        const int64_t n = nh / p.to_h, h = nh % p.to_h;
        for (int64_t d = 0; d < directions; ++d) {
          const int64_t c = first_channel[d], count = first_channel[d + 1] - c;
          if (count == 0) continue;
          const int64_t row = rows[d * p.to_h + h];
          const int64_t* col_of = cols.data() + d * p.to_w;
          Element* out = to + shift_write_offset(p, n, c, h, 0);
          if (row < 0) {
            for (int64_t w = 0; w < p.to_w; ++w) zero(out + w * ts[3], ts[1], count);
            continue;
          }
          const Element* in = from + n * fs[0] + c * fs[1] + row * fs[2];
          for (int64_t w = 0; w < p.to_w; ++w) {
            if (col_of[w] < 0) {
              zero(out + w * ts[3], ts[1], count);
            } else {
              copy(in + col_of[w] * fs[3], fs[1], out + w * ts[3], ts[1], count);
            }
          }
        }
      }
    });
    return;
  }
  // One (n, c) plane per iteration; per row, zero edges around one run of source columns.
  std::vector<int64_t> direction(p.channels);
  for (int64_t d = 0; d < directions; ++d)
    std::fill(direction.begin() + first_channel[d], direction.begin() + first_channel[d + 1], d);
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, p.to_h * p.to_w));
  at::parallel_for(0, p.batch * p.channels, grain, [&](int64_t begin, int64_t end) {
    for (int64_t nc = begin; nc < end; ++nc) {
      const int64_t n = nc / p.channels, c = nc % p.channels, d = direction[c];
      const int64_t* row_of = rows.data() + d * p.to_h;
      const int64_t* col_of = cols.data() + d * p.to_w;
      const ColumnRun& run = runs[d];
      for (int64_t h = 0; h < p.to_h; ++h) {
        Element* out = to + shift_write_offset(p, n, c, h, 0);
        if (row_of[h] < 0 || run.begin >= run.end) {
          zero(out, ts[3], p.to_w);
          continue;
        }
        const Element* in = from + n * fs[0] + c * fs[1] + row_of[h] * fs[2];
        zero(out, ts[3], run.begin);
        if (run.dense) {
          copy(in + col_of[run.begin] * fs[3], fs[3], out + run.begin * ts[3], ts[3], run.end - run.begin);
        } else {
          for (int64_t w = run.begin; w < run.end; ++w)
            out[w * ts[3]] = col_of[w] < 0 ? Element(0) : in[col_of[w] * fs[3]];
        }
        zero(out + run.end * ts[3], ts[3], p.to_w - run.end);
      }
    }
  });
}

template <typename Element>
void run_on_cpu(const ShiftPass& p, bool to_channels_last, const at::Tensor& from, at::Tensor& to) {
  shift_pass_cpu(p, to_channels_last, static_cast<const Element*>(from.data_ptr()), static_cast<Element*>(to.data_ptr()));
}

// The spatial geometry of one shift: what both of its passes need to know.
struct ShiftShape {
  int64_t kernel, stride, in_h, in_w;
};

// One pass (forward, or the adjoint when `adjoint`) from `from` into a new tensor that keeps
// from's memory format. Not differentiable by itself: ShiftFunction wraps it.
at::Tensor run_pass(const at::Tensor& from, const ShiftShape& shape, bool adjoint) {
  const int64_t out_h = shift_output_size(shape.in_h, shape.stride);
  const int64_t out_w = shift_output_size(shape.in_w, shape.stride);
  ShiftPass p;
  p.batch = from.size(0);
  p.channels = from.size(1);
  p.kernel = shape.kernel;
  p.stride = shape.stride;
  p.adjoint = adjoint;
  p.from_h = adjoint ? out_h : shape.in_h;
  p.from_w = adjoint ? out_w : shape.in_w;
  p.to_h = adjoint ? shape.in_h : out_h;
  p.to_w = adjoint ? shape.in_w : out_w;
  DNAS_CHECK(from.size(2) == p.from_h && from.size(3) == p.from_w, "shift: expected a ", p.from_h, "x", p.from_w,
             " map, got ", from.size(2), "x", from.size(3));

  const bool channels_last = from.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
  at::Tensor to = at::empty({p.batch, p.channels, p.to_h, p.to_w},
                            from.options().memory_format(channels_last ? at::MemoryFormat::ChannelsLast
                                                                       : at::MemoryFormat::Contiguous));
  for (int d = 0; d < 4; ++d) {
    p.from_stride[d] = from.stride(d);
    p.to_stride[d] = to.stride(d);
  }
  const int64_t element_size = static_cast<int64_t>(from.element_size());

  if (from.is_cuda()) {
#ifdef DNAS_WITH_CUDA_SHIFT
    const c10::cuda::CUDAGuard guard(from.device());
    const cudaError_t status = launch_shift_cuda(p, channels_last, from.data_ptr(), to.data_ptr(), element_size,
                                                 c10::cuda::getCurrentCUDAStream(from.device().index()).stream());
    if (status != cudaSuccess) throw std::runtime_error(std::string("shift: CUDA launch failed: ") + cudaGetErrorString(status));
    return to;
#endif
  }
  DNAS_CHECK(from.is_cpu(), "shift: no kernel for device ", from.device());
  switch (element_size) {
    case 1: run_on_cpu<uint8_t>(p, channels_last, from, to); break;
    case 2: run_on_cpu<uint16_t>(p, channels_last, from, to); break;
    case 4: run_on_cpu<uint32_t>(p, channels_last, from, to); break;
    case 8: run_on_cpu<uint64_t>(p, channels_last, from, to); break;
    default: DNAS_CHECK(false, "shift: unsupported element size ", element_size, " (", from.scalar_type(), ")");
  }
  return to;
}

// The shift and its adjoint as one autograd function: the gradient of either pass is the other
// pass, so the op is differentiable to any order.
class ShiftFunction : public torch::autograd::Function<ShiftFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& from, int64_t kernel,
                            int64_t stride, int64_t in_h, int64_t in_w, bool adjoint) {
    ctx->saved_data["kernel"] = kernel;
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["in_h"] = in_h;
    ctx->saved_data["in_w"] = in_w;
    ctx->saved_data["adjoint"] = adjoint;
    return run_pass(from, {kernel, stride, in_h, in_w}, adjoint);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    at::Tensor grad_from;
    if (grads[0].defined()) {
      grad_from = ShiftFunction::apply(grads[0], ctx->saved_data["kernel"].toInt(), ctx->saved_data["stride"].toInt(),
                                       ctx->saved_data["in_h"].toInt(), ctx->saved_data["in_w"].toInt(),
                                       !ctx->saved_data["adjoint"].toBool());
    }
    return {grad_from, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

void check_shift_args(const at::Tensor& x, int64_t kernel, int64_t stride) {
  DNAS_CHECK(x.dim() == 4, "shift: expected an [N, C, H, W] tensor, got ", x.dim(), " dimensions");
  DNAS_CHECK(kernel >= 1 && kernel % 2 == 1, "shift: kernel must be odd and positive, got ", kernel);
  DNAS_CHECK(stride >= 1, "shift: stride must be positive, got ", stride);
}

}  // namespace

at::Tensor shift(const at::Tensor& x, int64_t kernel, int64_t stride) {
  check_shift_args(x, kernel, stride);
  const bool has_kernel = x.is_cpu() || (x.is_cuda() && kHasCudaKernel);
  if (!has_kernel || x.numel() == 0) return shift_by_slicing(x, kernel, stride);
  return ShiftFunction::apply(x, kernel, stride, x.size(2), x.size(3), false);
}

at::Tensor shift_by_slicing(const at::Tensor& x, int64_t kernel, int64_t stride) {
  check_shift_args(x, kernel, stride);
  const int64_t channels = x.size(1), directions = kernel * kernel, pad = kernel / 2;
  const int64_t out_h = shift_output_size(x.size(2), stride);
  const int64_t out_w = shift_output_size(x.size(3), stride);
  const at::Tensor padded = at::constant_pad_nd(x, {pad, pad, pad, pad}, 0);
  std::vector<at::Tensor> moved;
  int64_t first_channel = 0;
  for (int64_t d = 0; d < directions; ++d) {
    const int64_t count = channels / directions + (d < channels % directions ? 1 : 0);
    if (count == 0) continue;
    const int64_t dy = d / kernel, dx = d % kernel;
    moved.push_back(padded.slice(1, first_channel, first_channel + count)
                        .slice(2, dy, dy + (out_h - 1) * stride + 1, stride)
                        .slice(3, dx, dx + (out_w - 1) * stride + 1, stride));
    first_channel += count;
  }
  return at::cat(moved, 1);
}

}  // namespace dnas

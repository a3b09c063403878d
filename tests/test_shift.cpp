// The ShiftNet shift kernel (ops/shift.h): the exact mapping, equality with the independent
// slicing composition in every geometry, layout and dtype, its gradient (the adjoint, to any
// order), that it only moves data, and the per-element body the CUDA kernel runs, on the host.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <ATen/Context.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/isnan.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>
#include <torch/csrc/autograd/autograd.h>

#include "ops/block_module.h"
#include "ops/shift.h"
#include "ops/shift_geometry.h"
#include "tests/test_support.h"

namespace dnas {
namespace {

using dnas::testing::error_of;

// The shift as a block of one step, the way every shift block runs it.
Block Shift(int64_t channels, int64_t kernel, int64_t stride) {
  PlanBuilder plan("shift", {channels, 8, 8});
  plan.shift(0, kernel, stride);
  return Block(plan.finish(), "shift");
}

at::Tensor in_layout(const at::Tensor& x, bool channels_last) {
  return channels_last ? x.contiguous(at::MemoryFormat::ChannelsLast) : x.contiguous();
}

TEST(Shift, MovesEachChannelGroupByItsOffsetWithZeroPadding) {
  const int64_t channels = 18, kernel = 3, size = 5;  // 2 channels per direction
  Block shift = Shift(channels, kernel, 1);
  const at::Tensor x = at::arange(channels * size * size, at::kFloat).view({1, channels, size, size}) + 1;
  const at::Tensor y = shift->forward(x);
  ASSERT_EQ(y.sizes(), x.sizes());
  for (int64_t c = 0; c < channels; ++c) {
    const int64_t direction = c / 2;
    const int64_t dy = direction / kernel - 1, dx = direction % kernel - 1;
    for (int64_t i = 0; i < size; ++i) {
      for (int64_t j = 0; j < size; ++j) {
        const int64_t si = i + dy, sj = j + dx;
        const float expected = (si >= 0 && si < size && sj >= 0 && sj < size) ? x[0][c][si][sj].item<float>() : 0.f;
        ASSERT_EQ(y[0][c][i][j].item<float>(), expected) << "c=" << c << " i=" << i << " j=" << j;
      }
    }
  }
}

TEST(Shift, UnevenChannelsGoToTheFirstDirectionsAndStrideSubsamples) {
  Block shift = Shift(11, 3, 2);  // 9 directions: the first 2 get 2 channels, the rest 1
  const at::Tensor x = at::randn({2, 11, 7, 7});
  const at::Tensor y = shift->forward(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 11, 4, 4}));
  // The centre direction (index 4) holds channel 2 + 2 + 1 + 1 = 6 unmoved, subsampled by 2.
  EXPECT_TRUE(at::equal(y.select(1, 6), x.select(1, 6).slice(1, 0, 7, 2).slice(2, 0, 7, 2)));
  EXPECT_TRUE(shift->parameters().empty());
}

TEST(Shift, DirectionOfEveryChannelMatchesTheGroupSizes) {
  for (int64_t kernel : {1, 3, 5}) {
    for (int64_t channels : {1, 2, 8, 9, 10, 24, 25, 26, 100}) {
      const int64_t directions = kernel * kernel;
      int64_t c = 0;
      for (int64_t d = 0; d < directions; ++d) {
        const int64_t count = channels / directions + (d < channels % directions ? 1 : 0);
        for (int64_t i = 0; i < count; ++i, ++c)
          ASSERT_EQ(shift_direction(c, channels, kernel), d) << "k=" << kernel << " C=" << channels << " c=" << c;
      }
      ASSERT_EQ(c, channels);
    }
  }
}

// Forward and backward equal the slicing composition bit for bit, in both layouts, for every
// kernel, stride, channel split and map size (odd, even, 1x1, not square), and keep the layout.
TEST(Shift, EqualsSlicingForwardAndBackwardInEveryGeometryAndLayout) {
  int checked = 0;
  for (int64_t kernel : {1, 3, 5}) {
    for (int64_t stride : {1, 2, 3}) {
      for (int64_t channels : {1, 7, 9, 11, 50}) {
        for (auto hw : {std::pair<int64_t, int64_t>{1, 1}, {7, 6}, {8, 8}, {2, 9}}) {
          for (bool channels_last : {false, true}) {
            SCOPED_TRACE(::testing::Message() << "k=" << kernel << " s=" << stride << " C=" << channels << " "
                                              << hw.first << "x" << hw.second << (channels_last ? " nhwc" : " nchw"));
            const at::Tensor base = in_layout(at::randn({3, channels, hw.first, hw.second}), channels_last);
            const at::Tensor a = base.clone().requires_grad_(true), b = base.clone().requires_grad_(true);
            const at::Tensor ya = shift(a, kernel, stride), yb = shift_by_slicing(b, kernel, stride);
            ASSERT_TRUE(at::equal(ya, yb));
            EXPECT_TRUE(ya.is_contiguous(channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous));
            const at::Tensor upstream = in_layout(at::randn(ya.sizes()), channels_last);
            ya.backward(upstream);
            yb.backward(upstream);
            ASSERT_TRUE(at::equal(a.grad(), b.grad()));
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 3 * 3 * 5 * 4 * 2);
}

// Views with arbitrary strides (a transposed map, a channel slice) and stride-0 gradients (from
// sum()) are read in place, without a copy first.
TEST(Shift, ReadsArbitrarilyStridedInputsAndGradients) {
  const at::Tensor transposed = at::randn({2, 12, 9, 7}).transpose(2, 3);
  EXPECT_TRUE(at::equal(shift(transposed, 3, 1), shift_by_slicing(transposed, 3, 1)));
  const at::Tensor sliced = at::randn({2, 30, 8, 8}).slice(1, 3, 30, 2);
  EXPECT_TRUE(at::equal(shift(sliced, 5, 2), shift_by_slicing(sliced, 5, 2)));

  const at::Tensor a = at::randn({2, 10, 6, 6}).requires_grad_(true), b = a.detach().clone().requires_grad_(true);
  shift(a, 3, 2).sum().backward();  // the upstream gradient is an expanded scalar
  shift_by_slicing(b, 3, 2).sum().backward();
  EXPECT_TRUE(at::equal(a.grad(), b.grad()));
}

// The adjoint identity <shift(x), g> = <x, shift^T(g)>, and the second derivative: the gradient
// of the gradient with respect to the upstream gradient is the shift again.
TEST(Shift, GradientIsTheAdjointToAnyOrder) {
  const at::Tensor x = at::randn({2, 13, 7, 5}, at::kDouble).requires_grad_(true);
  const at::Tensor g = at::randn({2, 13, 4, 3}, at::kDouble).requires_grad_(true);
  const at::Tensor y = shift(x, 3, 2);
  const at::Tensor gx = torch::autograd::grad({y}, {x}, {g}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  EXPECT_NEAR((y * g).sum().item<double>(), (x * gx).sum().item<double>(), 1e-9);

  const at::Tensor v = at::randn(x.sizes(), at::kDouble);
  const at::Tensor second = torch::autograd::grad({(gx * v).sum()}, {g})[0];
  EXPECT_TRUE(at::equal(second, shift(v, 3, 2)));
}

TEST(Shift, MovesEveryDtypeBitForBit) {
  const at::Tensor base = at::randn({2, 11, 6, 5});
  for (at::ScalarType dtype : {at::kDouble, at::kHalf, at::kBFloat16, at::kLong, at::kByte}) {
    for (bool channels_last : {false, true}) {
      const at::Tensor x = in_layout((base * 10).to(dtype), channels_last);
      EXPECT_TRUE(at::equal(shift(x, 3, 1), shift_by_slicing(x, 3, 1))) << dtype << " nhwc=" << channels_last;
      EXPECT_TRUE(at::equal(shift(x, 5, 2), shift_by_slicing(x, 5, 2))) << dtype << " nhwc=" << channels_last;
    }
  }
}

// Pure data movement: a NaN stays one NaN and -0.0 keeps its sign. A shift written as a
// convolution with one-hot filters would spread the NaN (NaN * 0 = NaN) and lose the sign.
TEST(Shift, OnlyMovesDataNoArithmetic) {
  at::Tensor x = at::zeros({1, 9, 5, 5});
  x[0][4][2][2] = std::numeric_limits<float>::quiet_NaN();  // centre direction: stays put
  x[0][0][3][3] = -0.0f;                                    // direction (0, 0): moves to (4, 4)
  for (bool channels_last : {false, true}) {
    const at::Tensor y = shift(in_layout(x, channels_last), 3, 1);
    EXPECT_EQ(at::isnan(y).sum().item<int64_t>(), 1);
    EXPECT_TRUE(std::isnan(y[0][4][2][2].item<float>()));
    EXPECT_TRUE(std::signbit(y[0][0][4][4].item<float>()));
  }
}

// The CUDA kernel's thread body, shift_element(), run on the host for every destination element
// of the forward and the adjoint pass in both layouts, against the CPU pass.
TEST(Shift, CudaThreadBodyOnTheHostEqualsTheCpuPass) {
  for (bool channels_last : {false, true}) {
    for (int64_t stride : {1, 2}) {
      SCOPED_TRACE(::testing::Message() << "s=" << stride << (channels_last ? " nhwc" : " nchw"));
      const int64_t kernel = 5, channels = 27;
      const at::Tensor x = in_layout(at::randn({2, channels, 9, 8}), channels_last).requires_grad_(true);
      const at::Tensor y = shift(x, kernel, stride);
      const at::Tensor upstream = in_layout(at::randn(y.sizes()), channels_last);
      y.backward(upstream);

      for (bool adjoint : {false, true}) {
        const at::Tensor from = adjoint ? upstream : x.detach();
        const at::Tensor expected = adjoint ? x.grad() : y.detach();
        at::Tensor to = in_layout(at::zeros(expected.sizes()) - 1, channels_last);  // poisoned
        ShiftPass p;
        p.batch = 2;
        p.channels = channels;
        p.kernel = kernel;
        p.stride = stride;
        p.adjoint = adjoint;
        p.from_h = from.size(2);
        p.from_w = from.size(3);
        p.to_h = to.size(2);
        p.to_w = to.size(3);
        for (int d = 0; d < 4; ++d) {
          p.from_stride[d] = from.stride(d);
          p.to_stride[d] = to.stride(d);
        }
        const float* in = from.data_ptr<float>();
        float* out = to.data_ptr<float>();
        for (int64_t i = 0; i < to.numel(); ++i) shift_element(p, channels_last, i, in, out);
        EXPECT_TRUE(at::equal(to, expected)) << (adjoint ? "adjoint" : "forward");
      }
    }
  }
}

// On a machine with a GPU (and dnas built against a LibTorch with CUDA): the CUDA kernel, or the
// slicing fallback when no CUDA compiler was found, equals the CPU kernel bit for bit.
TEST(Shift, OnCudaEqualsTheCpuKernel) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  for (at::ScalarType dtype : {at::kFloat, at::kHalf, at::kBFloat16, at::kDouble}) {
    for (bool channels_last : {false, true}) {
      for (auto [kernel, stride] : {std::pair<int64_t, int64_t>{3, 1}, {5, 1}, {3, 2}, {5, 2}}) {
        SCOPED_TRACE(::testing::Message() << dtype << " k=" << kernel << " s=" << stride << (channels_last ? " nhwc" : " nchw"));
        const at::Tensor x = in_layout(at::randn({4, 37, 15, 12}).to(dtype), channels_last).requires_grad_(true);
        const at::Tensor x_cuda = x.detach().to(at::kCUDA).requires_grad_(true);
        const at::Tensor y = shift(x, kernel, stride), y_cuda = shift(x_cuda, kernel, stride);
        ASSERT_TRUE(y_cuda.is_cuda());
        EXPECT_TRUE(y_cuda.is_contiguous(channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous));
        EXPECT_TRUE(at::equal(y, y_cuda.cpu()));
        const at::Tensor upstream = in_layout(at::randn(y.sizes()).to(dtype), channels_last);
        y.backward(upstream);
        y_cuda.backward(upstream.to(at::kCUDA));
        EXPECT_TRUE(at::equal(x.grad(), x_cuda.grad().cpu()));
      }
    }
  }
}

TEST(Shift, RejectsBadArguments) {
  const at::Tensor x = at::randn({1, 4, 5, 5});
  EXPECT_EQ(error_of([&] { shift(x, 2, 1); }), "shift: kernel must be odd and positive, got 2");
  EXPECT_EQ(error_of([&] { shift(x, 3, 0); }), "shift: stride must be positive, got 0");
  EXPECT_EQ(error_of([&] { shift(x.view({4, 5, 5}), 3, 1); }), "shift: expected an [N, C, H, W] tensor, got 3 dimensions");
  EXPECT_EQ(error_of([&] { Shift(8, 3, 1)->forward(x); }), "shift: expected 8 channels, got 4");
}

}  // namespace
}  // namespace dnas

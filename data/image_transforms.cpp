#include "data/image_transforms.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "common/error.h"

// Exactness notes.
// * torch 1.13 on an AVX2 or AVX-512 CPU (its usual dispatch) computes float32 log and exp with
//   SLEEF's 1-ulp kernels (Sleef_logf8_u10 / Sleef_expf8_u10, FMA variants), even for a one-element
//   tensor; they differ from glibc's logf / expf in the last bit for ~7% of the aspect-ratio draws.
//   RandomResizedCrop's aspect ratio goes through both, so the crop box uses scalar ports of those
//   two kernels (sleef_logf, sleef_expf): bit-identical to Debian's torch 1.13.1 for every float
//   with 2^-12 <= |x| <= 1.1 (exp) and 1e-3 <= x <= 1e3 (log). Under ATEN_CPU_CAPABILITY=default
//   torch falls back to glibc and its boxes can differ from these by a pixel, rarely.
// * PIL's resampler holds the box in float and the coefficients in double; the code below does the
//   same operations in the same order. It assumes the compiler does not contract a * b + c into a
//   fused multiply-add where the source does not ask for one (true for GCC and Clang on plain x86-64;
//   a build with -mfma -ffp-contract=fast would need -ffp-contract=off for this file).

namespace dnas {
namespace {

// ---------------------------------------------------------------------------------------------
// torch's float32 log and exp (SLEEF 3.5 xlogf_u1 / xexpf, FMA variants), for one value.

float as_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint32_t bits_of(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

// 2^q for a q in the normal exponent range.
float pow2i(int q) { return as_float(static_cast<uint32_t>(q + 0x7f) << 23); }

// SLEEF's vldexp2: d * 2^q in two steps, so an extreme q neither overflows nor flushes early.
float ldexp2(float d, int q) { return d * pow2i(q >> 1) * pow2i(q - (q >> 1)); }

// A float held as the unevaluated sum hi + lo (SLEEF's vfloat2).
struct FloatPair {
  float hi, lo;
};

FloatPair add2(float x, float y) {  // dfadd2_vf2_vf_vf
  const float s = x + y;
  const float v = s - x;
  return {s, (x - (s - v)) + (y - v)};
}

FloatPair add(FloatPair x, FloatPair y) {  // dfadd_vf2_vf2_vf2, |x| >= |y|
  const float s = x.hi + y.hi;
  return {s, (((x.hi - s) + y.hi) + x.lo) + y.lo};
}

FloatPair add(FloatPair x, float y) {  // dfadd_vf2_vf2_vf
  const float s = x.hi + y;
  return {s, ((x.hi - s) + y) + x.lo};
}

FloatPair mul(FloatPair x, float y) {  // dfmul_vf2_vf2_vf (FMA)
  const float s = x.hi * y;
  return {s, std::fma(x.lo, y, std::fma(x.hi, y, -s))};
}

FloatPair div(FloatPair n, FloatPair d) {  // dfdiv_vf2_vf2_vf2 (FMA)
  const float t = 1.0f / d.hi;
  const float s = n.hi * t;
  const float u = std::fma(t, n.hi, -s);
  const float v = std::fma(-d.lo, t, std::fma(-d.hi, t, 1.0f));
  return {s, std::fma(s, v, std::fma(n.lo, t, u))};
}

// torch.log on a float32 tensor (Sleef_logf8_u10).
float sleef_logf(float d) {
  const bool subnormal = d < FLT_MIN;
  if (subnormal) d *= static_cast<float>(INT64_C(1) << 32) * static_cast<float>(INT64_C(1) << 32);
  int e = static_cast<int>((bits_of(d * (1.0f / 0.75f)) >> 23) & 0xff) - 0x7f;
  const float m = as_float(bits_of(d) + (static_cast<uint32_t>(-e) << 23));
  if (subnormal) e -= 64;
  FloatPair s = mul(FloatPair{0.69314718246459960938f, -1.904654323148236017e-09f}, static_cast<float>(e));
  const FloatPair x = div(add2(-1.0f, m), add2(1.0f, m));
  const float x2 = x.hi * x.hi;
  float t = 0.3027294874f;
  t = std::fma(t, x2, 0.3996108174f);
  t = std::fma(t, x2, 0.6666694880f);
  s = add(s, FloatPair{x.hi * 2, x.lo * 2});
  s = add(s, x2 * x.hi * t);
  const float r = s.hi + s.lo;
  if (std::isinf(d)) return d > 0 ? std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN();
  if (d < 0 || std::isnan(d)) return std::numeric_limits<float>::quiet_NaN();
  if (d == 0) return -std::numeric_limits<float>::infinity();
  return r;
}

// torch.exp on a float32 tensor (Sleef_expf8_u10).
float sleef_expf(float d) {
  if (std::isnan(d)) return d;
  if (d < -104) return 0.0f;
  if (100 < d) return std::numeric_limits<float>::infinity();
  const int q = static_cast<int>(std::nearbyint(d * 1.442695040888963407359924681001892137426645954152985934135449406931f));
  const float qf = static_cast<float>(q);
  float s = std::fma(qf, -0.693145751953125f, d);
  s = std::fma(qf, -1.428606765330187045e-06f, s);
  // The coefficients are double literals narrowed to float, as SLEEF's vcast_vf_f receives them.
  float u = static_cast<float>(0.000198527617612853646278381);
  u = std::fma(u, s, static_cast<float>(0.00139304355252534151077271));
  u = std::fma(u, s, static_cast<float>(0.00833336077630519866943359));
  u = std::fma(u, s, static_cast<float>(0.0416664853692054748535156));
  u = std::fma(u, s, static_cast<float>(0.166666671633720397949219));
  u = std::fma(u, s, static_cast<float>(0.5));
  u = 1.0f + std::fma(s * s, u, s);
  return ldexp2(u, q);
}

// Python's round() of a float to an int: halves go to the even neighbour.
int64_t round_half_even(double x) {
  const double floor = std::floor(x);
  const double fraction = x - floor;
  double rounded = floor;
  if (fraction > 0.5 || (fraction == 0.5 && std::fmod(floor, 2.0) != 0.0)) rounded = floor + 1.0;
  return static_cast<int64_t>(rounded);
}

void check_crop_scale(const CropScale& scale) {
  DNAS_CHECK(std::isfinite(scale.scale_min) && std::isfinite(scale.scale_max) && scale.scale_min >= 0 &&
                 scale.scale_min <= scale.scale_max,
             "random resized crop: scale range [", scale.scale_min, ", ", scale.scale_max,
             "] must be finite with 0 <= min <= max");
  DNAS_CHECK(std::isfinite(scale.ratio_min) && std::isfinite(scale.ratio_max) &&
                 static_cast<float>(scale.ratio_min) > 0 && std::isfinite(static_cast<float>(scale.ratio_max)) &&
                 scale.ratio_min <= scale.ratio_max,
             "random resized crop: aspect ratio range [", scale.ratio_min, ", ", scale.ratio_max,
             "] must be finite with 0 < min <= max");
}

// Python's n // 2.
int64_t floor_half(int64_t n) { return n >= 0 ? n / 2 : -((-n + 1) / 2); }

// The box of the 10th failure: the whole image cut down to the nearest allowed aspect ratio.
PixelRect fallback_crop_box(int64_t width, int64_t height, const CropScale& scale) {
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  int64_t w = width, h = height;
  if (in_ratio < scale.ratio_min) {
    h = round_half_even(static_cast<double>(w) / scale.ratio_min);
  } else if (in_ratio > scale.ratio_max) {
    w = round_half_even(static_cast<double>(h) * scale.ratio_max);
  }
  return PixelRect{floor_half(width - w), floor_half(height - h), w, h};
}

int64_t checked_randint(RandomSource& random, int64_t hi) {
  const int64_t value = random.randint(0, hi);
  DNAS_ASSERT(value >= 0 && value < hi, "RandomSource::randint(0, ", hi, ") returned ", value);
  return value;
}

// ---------------------------------------------------------------------------------------------
// PIL's resampler (Pillow 9.4 src/libImaging/Resample.c, bilinear filter, 8 bits per channel).

constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr int32_t kHalf = int32_t{1} << (kPrecisionBits - 1);
constexpr int64_t kMaxSide = int64_t{1} << 24;  // PIL uses int sizes and a float box

double bilinear_filter(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

// The source pixels one output pixel reads along an axis: [first, first + count).
struct Taps {
  int first = 0, count = 0;
};

// How one axis maps out_size output pixels onto the box [in0, in1] of in_size source pixels.
struct AxisMap {
  int in_size = 0, out_size = 0;
  float in0 = 0;
  double scale = 0, filterscale = 0, support = 0;
};

AxisMap axis_map(int64_t in_size, float in0, float in1, int64_t out_size) {
  AxisMap map;
  map.in_size = static_cast<int>(in_size);
  map.out_size = static_cast<int>(out_size);
  map.in0 = in0;
  map.scale = static_cast<double>(in1 - in0) / map.out_size;  // the float difference, as PIL
  map.filterscale = std::max(map.scale, 1.0);
  map.support = 1.0 * map.filterscale;  // the bilinear filter's support is 1
  return map;
}

double center_of(const AxisMap& map, int xx) { return map.in0 + (xx + 0.5) * map.scale; }

// PIL rounds the window ends by truncation after adding 0.5, then clamps them to the image.
Taps taps_of(const AxisMap& map, double center) {
  const int first = std::max(static_cast<int>(center - map.support + 0.5), 0);
  const int end = std::min(static_cast<int>(center + map.support + 0.5), map.in_size);
  return Taps{first, end - first};
}

// The fixed-point filter of one axis: per output pixel its taps and ksize weights.
struct AxisFilter {
  int ksize = 0;
  std::vector<Taps> taps;
  std::vector<int32_t> weights;  // out_size * ksize, Q(kPrecisionBits)
};

int32_t to_fixed_point(double weight) {  // normalize_coeffs_8bpc
  const double scaled = weight * (1 << kPrecisionBits);
  return static_cast<int32_t>(weight < 0 ? -0.5 + scaled : 0.5 + scaled);
}

// precompute_coeffs and normalize_coeffs_8bpc.
AxisFilter axis_filter(const AxisMap& map) {
  AxisFilter filter;
  filter.ksize = static_cast<int>(std::ceil(map.support)) * 2 + 1;
  filter.taps.resize(map.out_size);
  filter.weights.assign(static_cast<size_t>(map.out_size) * filter.ksize, 0);
  std::vector<double> weights(filter.ksize);
  const double inverse = 1.0 / map.filterscale;
  for (int xx = 0; xx < map.out_size; ++xx) {
    const double center = center_of(map, xx);
    const Taps taps = taps_of(map, center);
    DNAS_ASSERT(taps.count >= 1 && taps.count <= filter.ksize, "resize: ", taps.count, " taps for kernel size ",
                filter.ksize);
    double sum = 0.0;
    for (int x = 0; x < taps.count; ++x) {
      weights[x] = bilinear_filter((x + taps.first - center + 0.5) * inverse);
      sum += weights[x];
    }
    int32_t* out = &filter.weights[static_cast<size_t>(xx) * filter.ksize];
    for (int x = 0; x < taps.count; ++x) out[x] = to_fixed_point(sum != 0.0 ? weights[x] / sum : weights[x]);
    filter.taps[xx] = taps;
  }
  return filter;
}

// The source range [begin, end) an axis reads.
struct Span {
  int64_t begin = 0, end = 0;
};

Span span_read(const AxisMap& map, int64_t first, int64_t count) {
  Span span{map.in_size, 0};
  for (int xx = static_cast<int>(first); xx < first + count; ++xx) {
    const Taps taps = taps_of(map, center_of(map, xx));
    span.begin = std::min<int64_t>(span.begin, taps.first);
    span.end = std::max<int64_t>(span.end, taps.first + taps.count);
  }
  return span;
}

uint8_t clip8(int32_t sum) {
  const int32_t value = sum >> kPrecisionBits;
  return static_cast<uint8_t>(value < 0 ? 0 : value > 255 ? 255 : value);
}

// The validated resize request: PIL's float box and whether each pass runs.
struct ResizePlan {
  AxisMap horizontal, vertical;
  bool need_horizontal = false, need_vertical = false;
};

ResizePlan plan_resize(int64_t full_width, int64_t full_height, const ResizeBox& box, int64_t out_width,
                       int64_t out_height) {
  DNAS_CHECK(full_width >= 1 && full_height >= 1 && full_width <= kMaxSide && full_height <= kMaxSide,
             "resize: image size ", full_width, "x", full_height, " must be 1..", kMaxSide, " on each side");
  DNAS_CHECK(out_width >= 1 && out_height >= 1 && out_width <= kMaxSide && out_height <= kMaxSide &&
                 out_width * out_height <= kMaxImagePixels,
             "resize: output size ", out_width, "x", out_height, " must be at least 1x1 and at most ",
             kMaxImagePixels, " pixels");
  // PIL takes the box as float and checks it as float.
  const float x0 = static_cast<float>(box.x0), y0 = static_cast<float>(box.y0);
  const float x1 = static_cast<float>(box.x1), y1 = static_cast<float>(box.y1);
  DNAS_CHECK(x0 >= 0 && y0 >= 0 && x1 >= x0 && y1 >= y0 && x1 <= full_width && y1 <= full_height,
             "resize: box (", box.x0, ", ", box.y0, ", ", box.x1, ", ", box.y1, ") must lie within the ", full_width,
             "x", full_height, " image with x0 <= x1 and y0 <= y1");
  ResizePlan plan;
  plan.horizontal = axis_map(full_width, x0, x1, out_width);
  plan.vertical = axis_map(full_height, y0, y1, out_height);
  plan.need_horizontal = out_width != full_width || x0 != 0 || x1 != out_width;
  plan.need_vertical = out_height != full_height || y0 != 0 || y1 != out_height;
  return plan;
}

// The rectangle of the full image the plan reads for the output `window`: a skipped pass reads
// its window's own pixels (output and input coincide on that axis).
PixelRect rect_read(const ResizePlan& plan, const PixelRect& window) {
  const Span columns = plan.need_horizontal ? span_read(plan.horizontal, window.x, window.width)
                                            : Span{window.x, window.x + window.width};
  const Span rows = plan.need_vertical ? span_read(plan.vertical, window.y, window.height)
                                       : Span{window.y, window.y + window.height};
  return PixelRect{columns.begin, rows.begin, columns.end - columns.begin, rows.end - rows.begin};
}

// The filter of output pixels [first, first + count) of `filter`.
AxisFilter slice(const AxisFilter& filter, int64_t first, int64_t count) {
  AxisFilter out;
  out.ksize = filter.ksize;
  out.taps.assign(filter.taps.begin() + first, filter.taps.begin() + first + count);
  out.weights.assign(filter.weights.begin() + first * filter.ksize, filter.weights.begin() + (first + count) * filter.ksize);
  return out;
}

void check_window(const PixelRect& window, int64_t out_width, int64_t out_height) {
  DNAS_CHECK(window.x >= 0 && window.y >= 0 && window.width >= 1 && window.height >= 1 &&
                 window.x + window.width <= out_width && window.y + window.height <= out_height,
             "resize: window (", window.x, ", ", window.y, ") ", window.width, "x", window.height,
             " must lie within the ", out_width, "x", out_height, " output");
}

bool contains(const PixelRect& outer, const PixelRect& inner) {
  return inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width &&
         inner.y + inner.height <= outer.y + outer.height;
}

// Rows of an RGB buffer addressed in the full image's coordinates: row y, column x lives at
// data + (y - origin_y) * stride + (x - origin_x) * 3.
struct PlaneView {
  const uint8_t* data = nullptr;
  int64_t stride = 0, origin_x = 0, origin_y = 0;
  const uint8_t* at(int64_t x, int64_t y) const { return data + (y - origin_y) * stride + (x - origin_x) * 3; }
};

// ImagingResampleHorizontal_8bpc over the full-image rows [first_row, end_row).
RgbImage horizontal_pass(const PlaneView& in, const AxisFilter& filter, int64_t first_row, int64_t end_row) {
  const int out_width = static_cast<int>(filter.taps.size());
  RgbImage out;
  out.width = out_width;
  out.height = end_row - first_row;
  out.pixels.resize(static_cast<size_t>(out.width * out.height * 3));
  uint8_t* dst = out.pixels.data();
  for (int64_t y = first_row; y < end_row; ++y) {
    for (int xx = 0; xx < out_width; ++xx) {
      const Taps taps = filter.taps[xx];
      const uint8_t* src = in.at(taps.first, y);
      const int32_t* k = &filter.weights[static_cast<size_t>(xx) * filter.ksize];
      int32_t r = kHalf, g = kHalf, b = kHalf;
      for (int x = 0; x < taps.count; ++x, src += 3) {
        r += src[0] * k[x];
        g += src[1] * k[x];
        b += src[2] * k[x];
      }
      dst[0] = clip8(r);
      dst[1] = clip8(g);
      dst[2] = clip8(b);
      dst += 3;
    }
  }
  return out;
}

// ImagingResampleVertical_8bpc of an image `width` pixels wide whose column 0 is in.at(0, y).
// Sums a whole row per tap (same integer sums as PIL's per-pixel order, but vectorisable).
RgbImage vertical_pass(const PlaneView& in, int64_t width, const AxisFilter& filter) {
  const int out_height = static_cast<int>(filter.taps.size());
  const size_t row_values = static_cast<size_t>(width) * 3;
  RgbImage out;
  out.width = width;
  out.height = out_height;
  out.pixels.resize(row_values * out_height);
  std::vector<int32_t> sums(row_values);
  for (int yy = 0; yy < out_height; ++yy) {
    const Taps taps = filter.taps[yy];
    const int32_t* k = &filter.weights[static_cast<size_t>(yy) * filter.ksize];
    std::fill(sums.begin(), sums.end(), kHalf);
    for (int y = 0; y < taps.count; ++y) {
      const uint8_t* src = in.at(0, taps.first + y);
      const int32_t weight = k[y];
      for (size_t i = 0; i < row_values; ++i) sums[i] += src[i] * weight;
    }
    uint8_t* dst = out.pixels.data() + row_values * yy;
    for (size_t i = 0; i < row_values; ++i) dst[i] = clip8(sums[i]);
  }
  return out;
}

}  // namespace

PixelRect random_resized_crop_box(int64_t width, int64_t height, const CropScale& scale, RandomSource& random) {
  DNAS_CHECK(width >= 1 && height >= 1 && width <= kMaxSide && height <= kMaxSide, "random resized crop: image size ",
             width, "x", height, " must be 1..", kMaxSide, " on each side");
  check_crop_scale(scale);
  const double area = static_cast<double>(height * width);
  const float log_ratio_min = sleef_logf(static_cast<float>(scale.ratio_min));
  const float log_ratio_max = sleef_logf(static_cast<float>(scale.ratio_max));
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area =
        area * random.uniform(static_cast<float>(scale.scale_min), static_cast<float>(scale.scale_max));
    const double aspect_ratio = sleef_expf(random.uniform(log_ratio_min, log_ratio_max));
    const int64_t w = round_half_even(std::sqrt(target_area * aspect_ratio));
    const int64_t h = round_half_even(std::sqrt(target_area / aspect_ratio));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int64_t top = checked_randint(random, height - h + 1);
      const int64_t left = checked_randint(random, width - w + 1);
      return PixelRect{left, top, w, h};
    }
  }
  return fallback_crop_box(width, height, scale);
}

ImageSize resize_short_side(int64_t width, int64_t height, int64_t short_side) {
  DNAS_CHECK(width >= 1 && height >= 1 && width <= kMaxSide && height <= kMaxSide, "resize: image size ", width,
             "x", height, " must be 1..", kMaxSide, " on each side");
  DNAS_CHECK(short_side >= 1 && short_side <= kMaxSide, "resize: short side ", short_side, " must be 1..",
             kMaxSide);
  const int64_t short_in = std::min(width, height), long_in = std::max(width, height);
  // Python's int(size * long / short): exact product, correctly rounded quotient, truncation.
  const int64_t long_out =
      static_cast<int64_t>(static_cast<double>(short_side * long_in) / static_cast<double>(short_in));
  return width <= height ? ImageSize{short_side, long_out} : ImageSize{long_out, short_side};
}

PixelRect center_crop_box(int64_t width, int64_t height, int64_t crop_width, int64_t crop_height) {
  DNAS_CHECK(crop_width >= 1 && crop_height >= 1 && crop_width <= width && crop_height <= height,
             "center crop: crop ", crop_width, "x", crop_height, " must be at least 1x1 and fit the ", width, "x",
             height, " image");
  const int64_t top = round_half_even(static_cast<double>(height - crop_height) / 2.0);
  const int64_t left = round_half_even(static_cast<double>(width - crop_width) / 2.0);
  return PixelRect{left, top, crop_width, crop_height};
}

PixelRect resize_source_rect(int64_t full_width, int64_t full_height, const ResizeBox& box, int64_t out_width,
                             int64_t out_height) {
  return rect_read(plan_resize(full_width, full_height, box, out_width, out_height),
                   PixelRect{0, 0, out_width, out_height});
}

PixelRect resize_window_source_rect(int64_t full_width, int64_t full_height, const ResizeBox& box, int64_t out_width,
                                    int64_t out_height, const PixelRect& window) {
  check_window(window, out_width, out_height);
  return rect_read(plan_resize(full_width, full_height, box, out_width, out_height), window);
}

RgbImage resize_bilinear(const RgbImage& source, const PixelRect& source_rect, int64_t full_width, int64_t full_height,
                         const ResizeBox& box, int64_t out_width, int64_t out_height) {
  return resize_bilinear_window(source, source_rect, full_width, full_height, box, out_width, out_height,
                                PixelRect{0, 0, out_width, out_height});
}

RgbImage resize_bilinear_window(const RgbImage& source, const PixelRect& source_rect, int64_t full_width,
                                int64_t full_height, const ResizeBox& box, int64_t out_width, int64_t out_height,
                                const PixelRect& window) {
  const ResizePlan plan = plan_resize(full_width, full_height, box, out_width, out_height);
  check_window(window, out_width, out_height);
  DNAS_ASSERT(source.width == source_rect.width && source.height == source_rect.height &&
                  source.pixels.size() == static_cast<size_t>(source.width * source.height * 3),
              "resize: a ", source.width, "x", source.height, " image with ", source.pixels.size(),
              " bytes for a source rect of ", source_rect.width, "x", source_rect.height);
  const PixelRect needed = rect_read(plan, window);
  DNAS_ASSERT(contains(source_rect, needed), "resize: reads columns [", needed.x, ", ", needed.x + needed.width,
              ") rows [", needed.y, ", ", needed.y + needed.height, ") outside the source rect at (", source_rect.x,
              ", ", source_rect.y, ") of ", source_rect.width, "x", source_rect.height);
  const PlaneView in{source.pixels.data(), source.width * 3, source_rect.x, source_rect.y};

  // Horizontal pass over the window's columns and only the rows the vertical pass reads (PIL's
  // ybox_first / ybox_last); a skipped pass copies them.
  const int64_t first_row = needed.y, end_row = needed.y + needed.height;
  RgbImage rows;
  if (plan.need_horizontal) {
    rows = horizontal_pass(in, slice(axis_filter(plan.horizontal), window.x, window.width), first_row, end_row);
  } else {
    rows.width = window.width;
    rows.height = end_row - first_row;
    rows.pixels.resize(static_cast<size_t>(rows.width * rows.height * 3));
    for (int64_t y = first_row; y < end_row; ++y)
      std::copy_n(in.at(window.x, y), rows.width * 3, rows.pixels.data() + (y - first_row) * rows.width * 3);
  }
  if (!plan.need_vertical) return rows;  // rows are the window's rows
  const PlaneView between{rows.pixels.data(), rows.width * 3, 0, first_row};
  return vertical_pass(between, window.width, slice(axis_filter(plan.vertical), window.y, window.height));
}

void flip_horizontal(RgbImage& image) {
  DNAS_ASSERT(image.pixels.size() == static_cast<size_t>(image.width * image.height * 3), "flip: a ", image.width,
              "x", image.height, " image with ", image.pixels.size(), " bytes");
  for (int64_t y = 0; y < image.height; ++y) {
    uint8_t* left = image.pixels.data() + y * image.width * 3;
    uint8_t* right = left + (image.width - 1) * 3;
    for (; left < right; left += 3, right -= 3) std::swap_ranges(left, left + 3, right);
  }
}

}  // namespace dnas

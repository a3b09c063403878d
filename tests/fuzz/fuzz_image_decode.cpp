// The image decoder (JPEG through libjpeg-turbo, PNG through libpng) on arbitrary bytes. The input
// is the file itself, so the seed corpus holds plain images; a hash of it picks the scale and a
// region. Beyond "only dnas::Error": the header's size, the full decode's size at 1/d and the
// region decode must agree, and the region must equal the cut of the full decode.
#include <cstring>

#include "data/image_decode.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

uint64_t fnv1a(const std::string& bytes) {
  uint64_t hash = 1469598103934665603ull;
  for (const char c : bytes) hash = (hash ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return hash;
}

void check(const std::string& bytes) {
  const std::string path = "fuzz.JPEG";
  const dnas::ImageInfo info = dnas::read_image_info(bytes, path);
  uint64_t hash = fnv1a(bytes);
  auto draw = [&hash](int64_t n) {  // in [0, n)
    hash = hash * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int64_t>((hash >> 33) % static_cast<uint64_t>(n));
  };
  const int d = info.format == dnas::ImageFormat::jpeg ? 1 << draw(4) : 1;
  const int64_t width = (info.width + d - 1) / d, height = (info.height + d - 1) / d;
  const dnas::RgbImage full = d == 1 ? dnas::decode_image(bytes, path)
                                     : dnas::decode_image_region(bytes, path, {0, 0, width, height}, d);
  if (full.width != width || full.height != height ||
      full.pixels.size() != static_cast<size_t>(width * height * 3))
    __builtin_trap();

  dnas::PixelRect r;
  r.x = draw(width);
  r.y = draw(height);
  r.width = 1 + draw(width - r.x);
  r.height = 1 + draw(height - r.y);
  // The full decode worked, so the region (which reads less of the file) must work too.
  dnas::RgbImage region;
  try {
    region = dnas::decode_image_region(bytes, path, r, d);
  } catch (const dnas::Error&) {
    __builtin_trap();
  }
  if (region.width != r.width || region.height != r.height) __builtin_trap();
  for (int64_t y = 0; y < r.height; ++y)
    if (std::memcmp(region.row(y), full.row(r.y + y) + r.x * 3, static_cast<size_t>(r.width) * 3) != 0)
      __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return dnas::fuzz::run_one(data, size, check);
}

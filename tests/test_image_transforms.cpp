// data/image_transforms against the real thing: each test runs one Python script (torchvision
// 0.14 / PIL 9.4, Debian's python3-torchvision and python3-pil) that writes all its reference
// data to a scratch directory, then compares bit for bit.
#include "data/image_transforms.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "tests/test_support.h"

namespace dnas {
namespace {

using dnas::testing::TempDir;

// ---------------------------------------------------------------------------------------------
// The Python side.

constexpr int kMissingModules = 3;

const char* const kPreamble =
    "import os, struct, sys\n"
    "try:\n"
    "    import numpy as np, torch, torchvision\n"
    "    import torchvision.transforms as T\n"
    "    import torchvision.transforms.functional as F\n"
    "    from PIL import Image\n"
    "except ImportError:\n"
    "    sys.exit(3)\n"
    "assert torchvision.__version__.startswith('0.14'), torchvision.__version__\n"
    "def path(name):\n"
    "    return os.path.join(sys.argv[1], name)\n"
    "def write_bytes(name, data):\n"
    "    with open(path(name), 'wb') as f:\n"
    "        f.write(data)\n"
    "rng = np.random.default_rng(20240601)\n"
    "def random_image(name, width, height):\n"
    "    image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), 'RGB')\n"
    "    write_bytes(name, image.tobytes())\n"
    "    return image\n";

// Runs kPreamble + body with the first of python3, /usr/bin/python3 that imports torch,
// torchvision, PIL and numpy, the scratch directory as argv[1]. "" on success, else why not.
std::string run_reference(const std::string& body, const TempDir& dir) {
  const std::string script = dir.file("reference.py");
  std::ofstream(script) << kPreamble << body;
  for (const char* python : {"python3", "/usr/bin/python3"}) {
    const std::string command = std::string(python) + " " + script + " " + dir.file("") + " 2>&1";
    const int status = std::system(command.c_str());
    const int code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 0) return "";
    if (code != kMissingModules && code != 127) return command + " failed (exit status " + std::to_string(code) + ")";
  }
  return "no python3 that imports torch, torchvision, PIL and numpy: install Debian's python3-torchvision, "
         "python3-pil and python3-numpy (scripts/setup.sh does)";
}

std::vector<std::string> read_lines(const std::string& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

RgbImage read_image(const std::string& file, int64_t width, int64_t height) {
  std::ifstream in(file, std::ios::binary);
  RgbImage image;
  image.width = width;
  image.height = height;
  image.pixels.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  EXPECT_EQ(image.pixels.size(), static_cast<size_t>(width * height * 3)) << file;
  return image;
}

// ---------------------------------------------------------------------------------------------
// Image helpers.

RgbImage cut(const RgbImage& image, const PixelRect& rect) {
  RgbImage out;
  out.width = rect.width;
  out.height = rect.height;
  for (int64_t y = rect.y; y < rect.y + rect.height; ++y) {
    const uint8_t* row = image.row(y) + rect.x * 3;
    out.pixels.insert(out.pixels.end(), row, row + rect.width * 3);
  }
  return out;
}

RgbImage whole_resize(const RgbImage& image, const ResizeBox& box, int64_t out_width, int64_t out_height) {
  return resize_bilinear(image, PixelRect{0, 0, image.width, image.height}, image.width, image.height, box, out_width,
                         out_height);
}

// The number of differing channel values and the largest difference, or a size mismatch.
struct Difference {
  bool same_size = true;
  int64_t count = 0;
  int max = 0;
  bool exact() const { return same_size && count == 0; }
};

Difference difference(const RgbImage& a, const RgbImage& b) {
  Difference d;
  if (a.width != b.width || a.height != b.height || a.pixels.size() != b.pixels.size()) {
    d.same_size = false;
    return d;
  }
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    const int delta = std::abs(int{a.pixels[i]} - int{b.pixels[i]});
    if (delta != 0) ++d.count;
    d.max = std::max(d.max, delta);
  }
  return d;
}

std::string describe(const Difference& d) {
  if (!d.same_size) return "different sizes";
  return std::to_string(d.count) + " values differ, by up to " + std::to_string(d.max);
}

std::string describe(const PixelRect& r) {
  std::ostringstream out;
  out << "(x " << r.x << ", y " << r.y << ", " << r.width << "x" << r.height << ")";
  return out.str();
}

bool same_rect(const PixelRect& a, const PixelRect& b) {
  return a.x == b.x && a.y == b.y && a.width == b.width && a.height == b.height;
}

// ---------------------------------------------------------------------------------------------
// Crop boxes: torchvision's draws replayed through a RandomSource.

uint32_t parse_hex(const std::string& text) { return static_cast<uint32_t>(std::stoul(text, nullptr, 16)); }

float float_from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint32_t bits_of(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

// One call torchvision made: uniform_(lo, hi) (float32 bits) or randint(lo, hi), and its result.
struct Draw {
  char kind = 'u';
  uint32_t lo_bits = 0, hi_bits = 0, value_bits = 0;  // uniform
  int64_t lo = 0, hi = 0, value = 0;                  // randint
};

// Hands back the logged draws in order and notes the first call that differs from torchvision's
// (another kind, other bounds, or one draw too many).
class ReplayRandom : public RandomSource {
 public:
  explicit ReplayRandom(std::vector<Draw> draws) : draws_(std::move(draws)) {}
  float uniform(float lo, float hi) override {
    const Draw* d = next('u');
    if (d == nullptr) return lo;
    if (bits_of(lo) != d->lo_bits || bits_of(hi) != d->hi_bits)
      note("uniform(" + hex(bits_of(lo)) + ", " + hex(bits_of(hi)) + ") where torch drew uniform_(" + hex(d->lo_bits) +
           ", " + hex(d->hi_bits) + ")");
    return float_from_bits(d->value_bits);
  }
  int64_t randint(int64_t lo, int64_t hi) override {
    const Draw* d = next('r');
    if (d == nullptr) return lo;
    if (lo != d->lo || hi != d->hi)
      note("randint(" + std::to_string(lo) + ", " + std::to_string(hi) + ") where torch drew randint(" +
           std::to_string(d->lo) + ", " + std::to_string(d->hi) + ")");
    return d->value;
  }
  float rand() override {
    note("rand(), which RandomResizedCrop.get_params never draws");
    return 0.5f;
  }
  size_t consumed() const { return next_; }
  const std::string& mismatch() const { return mismatch_; }

 private:
  static std::string hex(uint32_t bits) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%08x", bits);
    return text;
  }
  void note(const std::string& what) {
    if (mismatch_.empty()) mismatch_ = "draw " + std::to_string(next_) + ": " + what;
  }
  const Draw* next(char kind) {
    if (next_ >= draws_.size()) {
      note(std::string("a draw more than torch's ") + std::to_string(draws_.size()));
      return nullptr;
    }
    const Draw* d = &draws_[next_++];
    if (d->kind != kind) note(std::string("kind ") + kind + " where torch drew kind " + d->kind);
    return d;
  }
  std::vector<Draw> draws_;
  size_t next_ = 0;
  std::string mismatch_;
};

// Records every uniform_ and randint torchvision's RandomResizedCrop.get_params makes, for seeds
// 0..999 over a spread of image sizes and settings, plus draws chosen so that a float32 exp one
// ulp off torch's (glibc's expf instead of SLEEF's) changes the box. The last setting's ratios
// are ones whose float32 log differs between glibc and SLEEF.
const char* const kCropScript = R"PY(
def bits(x):
    return '%08x' % struct.unpack('<I', struct.pack('<f', float(x)))[0]
draws, forced = [], []
real_uniform, real_randint = torch.Tensor.uniform_, torch.randint
def logged_uniform(self, a=0.0, b=1.0, *, generator=None):
    if forced:
        self.fill_(forced.pop(0))
    else:
        real_uniform(self, a, b, generator=generator)
    draws.append('u %s %s %s' % (bits(a), bits(b), bits(self.item())))
    return self
def logged_randint(lo, hi, size, **kwargs):
    r = real_randint(lo, hi, size, **kwargs)
    draws.append('r %d %d %d' % (lo, hi, r.item()))
    return r
torch.Tensor.uniform_ = logged_uniform
torch.randint = logged_randint
out = open(path('crops.txt'), 'w')
def record(image, scale, ratio):
    draws.clear()
    i, j, h, w = T.RandomResizedCrop.get_params(image, scale, ratio)
    out.write('case %d %d %r %r %r %r %d %d %d %d %d\n' % (image.width, image.height, *scale, *ratio, j, i, w, h, len(draws)))
    out.writelines(d + '\n' for d in draws)
settings = [((0.08, 1.0), (3.0 / 4.0, 4.0 / 3.0)), ((0.35, 1.0), (3.0 / 4.0, 4.0 / 3.0)),
            ((0.08, 1.0), (1.0, 1.0)), ((0.08, 1.0), (0.8721570372581482, 1.438407301902771))]
for size in [(500, 375), (375, 500), (64, 64), (3000, 100), (100, 3000), (17, 23), (1, 1)]:
    image = Image.new('RGB', size)
    for scale, ratio in settings:
        for seed in range(1000):
            torch.manual_seed(seed)
            record(image, scale, ratio)
exp_sensitive = [(0.6748813986778259, 0.2848721742630005), (0.5123156309127808, -0.15027400851249695),
                 (0.7571073770523071, 0.24399824440479279), (0.37618792057037354, 0.17244291305541992),
                 (0.5258957147598267, 0.22573432326316833), (0.32162436842918396, -0.17853863537311554),
                 (0.47157013416290283, 0.2826966643333435), (0.714474618434906, 0.2284664511680603),
                 (0.5482503771781921, 0.2460867017507553), (0.3817768394947052, -0.12372912466526031),
                 (0.5489122867584229, 0.10733063519001007), (0.12294250726699829, -0.2723303735256195)]
image = Image.new('RGB', (500, 375))
for scale_draw, ratio_draw in exp_sensitive:
    forced[:] = [scale_draw, ratio_draw]
    torch.manual_seed(0)
    record(image, settings[0][0], settings[0][1])
out.close()
)PY";

struct CropCase {
  int64_t width = 0, height = 0;
  CropScale scale;
  PixelRect box;
  std::vector<Draw> draws;
};

std::vector<CropCase> parse_crop_cases(const std::vector<std::string>& lines) {
  std::vector<CropCase> cases;
  for (const std::string& line : lines) {
    std::istringstream in(line);
    std::string kind;
    in >> kind;
    if (kind == "case") {
      CropCase c;
      size_t draws = 0;
      in >> c.width >> c.height >> c.scale.scale_min >> c.scale.scale_max >> c.scale.ratio_min >> c.scale.ratio_max >>
          c.box.x >> c.box.y >> c.box.width >> c.box.height >> draws;
      cases.push_back(c);
    } else if (!cases.empty()) {
      Draw d;
      d.kind = kind.empty() ? '?' : kind[0];
      if (d.kind == 'u') {
        std::string lo, hi, value;
        in >> lo >> hi >> value;
        d.lo_bits = parse_hex(lo);
        d.hi_bits = parse_hex(hi);
        d.value_bits = parse_hex(value);
      } else {
        in >> d.lo >> d.hi >> d.value;
      }
      cases.back().draws.push_back(d);
    }
  }
  return cases;
}

TEST(RandomResizedCropBox, EqualsTorchvisionForTheSameDraws) {
  TempDir dir;
  ASSERT_EQ(run_reference(kCropScript, dir), "");
  const std::vector<CropCase> cases = parse_crop_cases(read_lines(dir.file("crops.txt")));
  ASSERT_EQ(cases.size(), 7u * 4u * 1000u + 12u);
  int failures = 0, fallbacks = 0;
  for (const CropCase& c : cases) {
    ReplayRandom random(c.draws);
    const PixelRect box = random_resized_crop_box(c.width, c.height, c.scale, random);
    if (c.draws.size() == 20) ++fallbacks;  // ten tries of two uniforms, no randint
    const bool ok = same_rect(box, c.box) && random.consumed() == c.draws.size() && random.mismatch().empty();
    if (!ok && ++failures <= 5)
      ADD_FAILURE() << c.width << "x" << c.height << " scale [" << c.scale.scale_min << ", " << c.scale.scale_max
                    << "] ratio [" << c.scale.ratio_min << ", " << c.scale.ratio_max << "]: box " << describe(box)
                    << ", torchvision " << describe(c.box) << "; " << random.consumed() << " of " << c.draws.size()
                    << " draws consumed; " << random.mismatch();
  }
  EXPECT_EQ(failures, 0);
  EXPECT_GE(fallbacks, 2000) << "the 3000x100 and 100x3000 cases should reach the centre fallback";
}

TEST(RandomResizedCropBox, RejectsBadSettings) {
  ReplayRandom random({});
  CropScale bad_scale;
  bad_scale.scale_min = 0.9;
  bad_scale.scale_max = 0.5;
  EXPECT_NE(dnas::testing::error_of([&] { random_resized_crop_box(10, 10, bad_scale, random); }).find("scale range"),
            std::string::npos);
  CropScale bad_ratio;
  bad_ratio.ratio_min = 0;
  EXPECT_NE(dnas::testing::error_of([&] { random_resized_crop_box(10, 10, bad_ratio, random); }).find("aspect ratio"),
            std::string::npos);
  EXPECT_NE(dnas::testing::error_of([&] { random_resized_crop_box(0, 10, CropScale{}, random); }).find("image size"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Resizing: PIL's Image.resize(size, BILINEAR, box) and torchvision's resized_crop.

// 'crop' cases: F.resized_crop (crop, then resize the crop) with an integer box (left, top,
// right, bottom); 'box' cases: Image.resize(size, BILINEAR, box=box) of the whole image.
const char* const kResizeScript = R"PY(
out = open(path('resize.txt'), 'w')
images, count = {}, 0
def case(kind, name, box, size):
    global count
    image = images[name]
    if kind == 'crop':
        left, top, right, bottom = box
        result = F.resized_crop(image, top, left, bottom - top, right - left, [size[1], size[0]],
                                T.InterpolationMode.BILINEAR)
    else:
        result = image.resize(size, Image.BILINEAR, box=box)
    assert result.size == tuple(size)
    result_name = 'result%d.raw' % count
    count += 1
    write_bytes(result_name, result.tobytes())
    out.write('%s %s %d %d %r %r %r %r %d %d %s\n' % (kind, name, image.width, image.height, *box, *size, result_name))
for name, size in [('big', (500, 375)), ('tall', (375, 500)), ('small', (20, 15)), ('one', (1, 1)), ('line', (7, 1))]:
    images[name] = random_image(name, *size)
# Training crops: torchvision's own boxes, cropped then resized and as a box of the whole image.
for seed in range(40):
    torch.manual_seed(seed)
    for name in ('big', 'tall'):
        i, j, h, w = T.RandomResizedCrop.get_params(images[name], (0.08, 1.0), (3.0 / 4.0, 4.0 / 3.0))
        case('crop', name, (j, i, j + w, i + h), (224, 224))
        case('box', name, (j, i, j + w, i + h), (224, 224))
# Fractional boxes, down and up, to odd sizes.
for k in range(30):
    x0, y0 = rng.uniform(0, 450), rng.uniform(0, 330)
    box = (x0, y0, rng.uniform(x0, 500), rng.uniform(y0, 375))
    case('box', 'big', box, (int(rng.integers(1, 300)), int(rng.integers(1, 300))))
# Upscale.
case('crop', 'small', (0, 0, 20, 15), (224, 224))
case('crop', 'small', (3, 2, 11, 9), (224, 224))
case('box', 'small', (0, 0, 20, 15), (224, 224))
case('box', 'small', (2.5, 1.25, 17.75, 14.0), (224, 224))
# Same size: PIL copies, or runs one pass for a shifted box; an integer box of the output size is a crop.
case('box', 'big', (0, 0, 500, 375), (500, 375))
case('box', 'big', (0.5, 0, 500, 375), (500, 375))
case('box', 'big', (0, 0.25, 500, 375), (500, 375))
case('box', 'big', (10, 20, 234, 244), (224, 224))
# One axis unchanged: only one pass runs.
case('box', 'big', (0, 0, 500, 375), (224, 375))
case('box', 'big', (0, 0, 500, 375), (500, 224))
case('box', 'big', (0, 0, 500, 375), (500, 1000))
case('box', 'big', (0, 0, 500, 375), (1000, 375))
# Edge cases: a 1x1 image, a crop equal to the image, output size 1, empty boxes.
case('box', 'one', (0, 0, 1, 1), (224, 224))
case('crop', 'one', (0, 0, 1, 1), (1, 1))
case('crop', 'big', (0, 0, 500, 375), (224, 224))
case('crop', 'big', (0, 0, 500, 375), (500, 375))
case('box', 'big', (0, 0, 500, 375), (1, 1))
case('box', 'big', (0, 0, 500, 375), (1, 224))
case('box', 'big', (0, 0, 500, 375), (224, 1))
case('box', 'big', (10, 10, 10, 20), (5, 5))
case('box', 'big', (500, 375, 500, 375), (3, 2))
case('box', 'line', (0, 0, 7, 1), (3, 4))
case('box', 'line', (0, 0, 7, 1), (7, 1))
out.close()
)PY";

struct ResizeCase {
  std::string kind, source;
  int64_t width = 0, height = 0;
  ResizeBox box;
  int64_t out_width = 0, out_height = 0;
  std::string result;
};

std::vector<ResizeCase> parse_resize_cases(const std::vector<std::string>& lines) {
  std::vector<ResizeCase> cases;
  for (const std::string& line : lines) {
    std::istringstream in(line);
    ResizeCase c;
    in >> c.kind >> c.source >> c.width >> c.height >> c.box.x0 >> c.box.y0 >> c.box.x1 >> c.box.y1 >> c.out_width >>
        c.out_height >> c.result;
    cases.push_back(c);
  }
  return cases;
}

std::string describe(const ResizeCase& c) {
  std::ostringstream out;
  out.precision(17);
  out << c.kind << " " << c.source << " " << c.width << "x" << c.height << " box (" << c.box.x0 << ", " << c.box.y0
      << ", " << c.box.x1 << ", " << c.box.y1 << ") to " << c.out_width << "x" << c.out_height;
  return out.str();
}

// True when resize_bilinear refuses (DNAS_ASSERT) to read `rect` only.
bool refuses_rect(const RgbImage& image, const PixelRect& rect, const ResizeCase& c) {
  try {
    resize_bilinear(cut(image, rect), rect, c.width, c.height, c.box, c.out_width, c.out_height);
  } catch (const InternalError&) {
    return true;
  }
  return false;
}

// resize_source_rect is enough (resizing just that part gives PIL's result) and nothing smaller is
// accepted: each side pulled in by one pixel trips the assertion.
void expect_source_rect_exact(const RgbImage& image, const ResizeCase& c, const RgbImage& expected) {
  const PixelRect rect = resize_source_rect(c.width, c.height, c.box, c.out_width, c.out_height);
  ASSERT_TRUE(rect.x >= 0 && rect.y >= 0 && rect.width >= 1 && rect.height >= 1 && rect.x + rect.width <= c.width &&
              rect.y + rect.height <= c.height)
      << describe(rect);
  const RgbImage part =
      resize_bilinear(cut(image, rect), rect, c.width, c.height, c.box, c.out_width, c.out_height);
  EXPECT_TRUE(difference(part, expected).exact()) << "from only " << describe(rect) << ": "
                                                   << describe(difference(part, expected));
  const PixelRect smaller[] = {{rect.x + 1, rect.y, rect.width - 1, rect.height},
                               {rect.x, rect.y + 1, rect.width, rect.height - 1},
                               {rect.x, rect.y, rect.width - 1, rect.height},
                               {rect.x, rect.y, rect.width, rect.height - 1}};
  for (const PixelRect& s : smaller) {
    if (s.width >= 1 && s.height >= 1) {
      EXPECT_TRUE(refuses_rect(image, s, c)) << "accepted " << describe(s);
    }
  }
}

TEST(ResizeBilinear, EqualsPil) {
  TempDir dir;
  ASSERT_EQ(run_reference(kResizeScript, dir), "");
  const std::vector<ResizeCase> cases = parse_resize_cases(read_lines(dir.file("resize.txt")));
  ASSERT_EQ(cases.size(), 160u + 30u + 4u + 4u + 4u + 11u);
  std::map<std::string, RgbImage> images;
  for (const ResizeCase& c : cases) {
    SCOPED_TRACE(describe(c));
    if (!images.count(c.source)) images[c.source] = read_image(dir.file(c.source), c.width, c.height);
    const RgbImage& image = images[c.source];
    const RgbImage expected = read_image(dir.file(c.result), c.out_width, c.out_height);
    if (c.kind == "crop") {
      const PixelRect crop{static_cast<int64_t>(c.box.x0), static_cast<int64_t>(c.box.y0),
                           static_cast<int64_t>(c.box.x1 - c.box.x0), static_cast<int64_t>(c.box.y1 - c.box.y0)};
      const RgbImage got = whole_resize(cut(image, crop), ResizeBox{0, 0, static_cast<double>(crop.width),
                                                                    static_cast<double>(crop.height)},
                                        c.out_width, c.out_height);
      EXPECT_TRUE(difference(got, expected).exact()) << describe(difference(got, expected));
    } else {
      const RgbImage got = whole_resize(image, c.box, c.out_width, c.out_height);
      EXPECT_TRUE(difference(got, expected).exact()) << describe(difference(got, expected));
      expect_source_rect_exact(image, c, expected);
    }
  }
}

TEST(ResizeSourceRect, HandComputedExamples) {
  // Upscale (scale 200/224 < 1, support 1): first centre 100.45 reads from int(99.95) = 99, last
  // centre 299.55 reads up to int(301.05) = 301 (exclusive).
  EXPECT_EQ(describe(resize_source_rect(500, 375, ResizeBox{100, 50, 300, 250}, 224, 224)),
            describe(PixelRect{99, 49, 202, 202}));
  // Downscale (scale = support = 300/224): from int(99.83) = 99 to int(401.17) = 401.
  EXPECT_EQ(describe(resize_source_rect(500, 375, ResizeBox{100, 50, 400, 350}, 224, 224)),
            describe(PixelRect{99, 49, 302, 302}));
  // The whole image, and a copy (both passes skipped) reads everything.
  EXPECT_EQ(describe(resize_source_rect(500, 375, ResizeBox{0, 0, 500, 375}, 224, 224)),
            describe(PixelRect{0, 0, 500, 375}));
  EXPECT_EQ(describe(resize_source_rect(500, 375, ResizeBox{0, 0, 500, 375}, 500, 375)),
            describe(PixelRect{0, 0, 500, 375}));
  // A skipped horizontal pass reads every column, even for a box of a few rows.
  // Scale 1: centres 100.5 .. 109.5 read [100, 111) (the last tap has weight 0, PIL reads it anyway).
  EXPECT_EQ(describe(resize_source_rect(500, 375, ResizeBox{0, 100, 500, 110}, 500, 10)),
            describe(PixelRect{0, 100, 500, 11}));
}

TEST(ResizeBilinear, RejectsBadArguments) {
  RgbImage image;
  image.width = 4;
  image.height = 3;
  image.pixels.assign(4 * 3 * 3, 7);
  const PixelRect all{0, 0, 4, 3};
  using dnas::testing::error_of;
  EXPECT_NE(error_of([&] { resize_bilinear(image, all, 4, 3, ResizeBox{0, 0, 4, 3}, 0, 5); }).find("output size"),
            std::string::npos);
  EXPECT_NE(error_of([&] { resize_bilinear(image, all, 4, 3, ResizeBox{0, 0, 4.5, 3}, 2, 2); }).find("box"),
            std::string::npos);
  EXPECT_NE(error_of([&] { resize_bilinear(image, all, 4, 3, ResizeBox{-1, 0, 4, 3}, 2, 2); }).find("box"),
            std::string::npos);
  EXPECT_NE(error_of([&] { resize_bilinear(image, all, 4, 3, ResizeBox{3, 0, 2, 3}, 2, 2); }).find("box"),
            std::string::npos);
  // A source rect that misses pixels the filter reads is dnas's own bug.
  EXPECT_THROW(resize_bilinear(cut(image, PixelRect{1, 0, 3, 3}), PixelRect{1, 0, 3, 3}, 4, 3, ResizeBox{0, 0, 4, 3},
                               2, 2),
               InternalError);
  EXPECT_NE(error_of([&] { center_crop_box(10, 10, 11, 5); }).find("fit"), std::string::npos);
  EXPECT_NE(error_of([&] { resize_short_side(10, 10, 0); }).find("short side"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The evaluation pipeline: Resize(256) then CenterCrop(224).

const char* const kEvalScript = R"PY(
out = open(path('eval.txt'), 'w')
pipeline = T.Compose([T.Resize(256), T.CenterCrop(224)])
for k, size in enumerate([(500, 375), (375, 500), (300, 300), (500, 333), (333, 500), (640, 480), (224, 224),
                          (257, 1000), (2000, 1500), (511, 256)]):
    image = random_image('eval%d.raw' % k, *size)
    resized = T.Resize(256)(image)
    result = pipeline(image)
    write_bytes('evalresult%d.raw' % k, result.tobytes())
    out.write('%d %d %d %d %d %d\n' % (k, image.width, image.height, resized.width, resized.height, result.width))
out.close()
)PY";

TEST(EvalPipeline, EqualsTorchvisionResizeThenCenterCrop) {
  TempDir dir;
  ASSERT_EQ(run_reference(kEvalScript, dir), "");
  const std::vector<std::string> lines = read_lines(dir.file("eval.txt"));
  ASSERT_EQ(lines.size(), 10u);
  for (const std::string& line : lines) {
    std::istringstream in(line);
    int k = 0;
    int64_t width = 0, height = 0, resized_width = 0, resized_height = 0, crop = 0;
    in >> k >> width >> height >> resized_width >> resized_height >> crop;
    SCOPED_TRACE(std::to_string(width) + "x" + std::to_string(height));
    const RgbImage image = read_image(dir.file("eval" + std::to_string(k) + ".raw"), width, height);
    const RgbImage expected = read_image(dir.file("evalresult" + std::to_string(k) + ".raw"), crop, crop);

    const ImageSize resized = resize_short_side(width, height, 256);
    EXPECT_EQ(resized.width, resized_width);
    EXPECT_EQ(resized.height, resized_height);
    const RgbImage whole = whole_resize(image, ResizeBox{0, 0, static_cast<double>(width), static_cast<double>(height)},
                                        resized.width, resized.height);
    const PixelRect box = center_crop_box(resized.width, resized.height, 224, 224);
    const RgbImage two_step = cut(whole, box);
    EXPECT_TRUE(difference(two_step, expected).exact()) << describe(difference(two_step, expected));

    // The direct form: the centre crop mapped back into the source, one resize to 224x224. PIL
    // holds a box in float, so it equals the two steps only where the mapped box is exact in float
    // and spans exactly 224 times the whole resize's scale (then every filter centre and weight is
    // the same); otherwise the centres move by ~1e-6 pixel, a 22-bit coefficient by a unit or two,
    // and a few values in a thousand round the other way (measured: at most 1 apart).
    const double sx = static_cast<double>(width) / resized.width, sy = static_cast<double>(height) / resized.height;
    const ResizeBox direct_box{box.x * sx, box.y * sy, (box.x + box.width) * sx, (box.y + box.height) * sy};
    const RgbImage direct = whole_resize(image, direct_box, 224, 224);
    const Difference d = difference(direct, expected);
    std::printf("eval %lldx%lld: direct resize of the mapped centre crop: %s\n", static_cast<long long>(width),
                static_cast<long long>(height), describe(d).c_str());
    const auto float_exact = [](double v) { return static_cast<double>(static_cast<float>(v)) == v; };
    const bool box_exact = float_exact(direct_box.x0) && float_exact(direct_box.y0) && float_exact(direct_box.x1) &&
                           float_exact(direct_box.y1) && (direct_box.x1 - direct_box.x0) / 224 == sx &&
                           (direct_box.y1 - direct_box.y0) / 224 == sy;
    if (box_exact) {
      EXPECT_TRUE(d.exact()) << describe(d);
    } else {
      EXPECT_LE(d.max, 1) << describe(d);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Crop geometry and flipping.

TEST(CenterCropBox, RoundsHalvesToEven) {
  // (341 - 224) / 2 = 58.5 rounds to 58; (343 - 224) / 2 = 59.5 rounds to 60.
  EXPECT_EQ(describe(center_crop_box(341, 256, 224, 224)), describe(PixelRect{58, 16, 224, 224}));
  EXPECT_EQ(describe(center_crop_box(343, 225, 224, 224)), describe(PixelRect{60, 0, 224, 224}));
  EXPECT_EQ(describe(center_crop_box(224, 224, 224, 224)), describe(PixelRect{0, 0, 224, 224}));
}

TEST(ResizeShortSide, TruncatesTheLongSide) {
  EXPECT_EQ(resize_short_side(500, 375, 256).width, 341);  // 256 * 500 / 375 = 341.33
  EXPECT_EQ(resize_short_side(375, 500, 256).height, 341);
  EXPECT_EQ(resize_short_side(300, 300, 256).width, 256);
  EXPECT_EQ(resize_short_side(3, 1000, 256).height, 85333);
}

const char* const kFlipScript = R"PY(
out = open(path('flip.txt'), 'w')
for k, size in enumerate([(37, 23), (1, 1), (2, 1), (1, 5), (224, 224)]):
    image = random_image('flip%d.raw' % k, *size)
    write_bytes('flipped%d.raw' % k, F.hflip(image).tobytes())
    out.write('%d %d %d\n' % (k, *size))
out.close()
)PY";

TEST(FlipHorizontal, EqualsTorchvisionHflip) {
  TempDir dir;
  ASSERT_EQ(run_reference(kFlipScript, dir), "");
  const std::vector<std::string> lines = read_lines(dir.file("flip.txt"));
  ASSERT_EQ(lines.size(), 5u);
  for (const std::string& line : lines) {
    std::istringstream in(line);
    int k = 0;
    int64_t width = 0, height = 0;
    in >> k >> width >> height;
    RgbImage image = read_image(dir.file("flip" + std::to_string(k) + ".raw"), width, height);
    const RgbImage original = image;
    const RgbImage expected = read_image(dir.file("flipped" + std::to_string(k) + ".raw"), width, height);
    flip_horizontal(image);
    EXPECT_TRUE(difference(image, expected).exact()) << width << "x" << height;
    flip_horizontal(image);
    EXPECT_TRUE(difference(image, original).exact()) << width << "x" << height << " flipped twice";
  }
}

}  // namespace
}  // namespace dnas

// dnas::image_decode against PIL: the fixtures (JPEGs of every subsampling, progressive,
// grayscale and CMYK; PNGs of every colour type and depth, interlaced, palettes with tRNS or too
// short) are written by Python PIL together with the RGB bytes Image.open(f).convert("RGB") gives
// for them, and every decode must equal those bytes exactly. Region decodes must equal the cut
// of the full decode at the same scale, for random regions and those touching every edge. Broken
// files must be a one-line dnas::Error naming the file.
#include "data/image_decode.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_support.h"

namespace dnas {
namespace {

using testing::error_of;
using testing::TempDir;

// Writes the fixtures into argv[1]; see the manifest line format below.
constexpr const char* kFixtureScript = R"PY(
import base64, random, struct, sys, zlib
from PIL import Image, ImageDraw

out = sys.argv[1]
rng = random.Random(20240611)
manifest = []

def natural(w, h):  # gradients, flat shapes with hard edges, some noise
    r = Image.linear_gradient("L").resize((w, h))
    g = Image.radial_gradient("L").resize((w, h))
    b = Image.linear_gradient("L").rotate(90).resize((w, h))
    im = Image.merge("RGB", (r, g, b))
    draw = ImageDraw.Draw(im)
    for _ in range(40):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randrange(1, w // 3 + 2), y0 + rng.randrange(1, h // 3 + 2)
        fill = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=fill)
    noise = Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3))
    return Image.blend(im, noise, 0.15)

# Manifest line: name file format width height reference (raw RGB bytes).
def record(name, file, fmt, reference=None):
    im = Image.open(f"{out}/{file}")
    w, h = im.size
    data = reference if reference is not None else im.convert("RGB").tobytes()
    assert len(data) == w * h * 3
    open(f"{out}/{name}.rgb", "wb").write(data)
    manifest.append(f"{name} {file} {fmt} {w} {h} {name}.rgb")

def jpeg(name, im, **options):
    im.save(f"{out}/{name}.jpg", "JPEG", **options)
    record(name, f"{name}.jpg", "jpeg")

def png(name, im, **options):
    im.save(f"{out}/{name}.png", "PNG", **options)
    record(name, f"{name}.png", "png")

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]

# A PNG written by hand (PIL writes neither 16-bit RGB nor interlaced PNGs). rows: the packed
# samples of each row; pixel_bytes: bytes a pixel (interlacing, depth >= 8 only).
def raw_png(path, w, h, depth, color, rows, pixel_bytes=None, plte=None, trns=None, interlace=False):
    if interlace:
        data = b""
        for x0, y0, dx, dy in ADAM7:
            for y in range(y0, h, dy):
                row = b"".join(rows[y][x * pixel_bytes:(x + 1) * pixel_bytes] for x in range(x0, w, dx))
                if row:
                    data += b"\0" + row
    else:
        data = b"".join(b"\0" + row for row in rows)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, int(interlace)))
    if plte is not None:
        png += chunk(b"PLTE", plte)
    if trns is not None:
        png += chunk(b"tRNS", trns)
    png += chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)

def samples16(values):  # 8-bit values -> 16-bit big-endian samples with a random low byte
    return b"".join(bytes((v, rng.randrange(256))) for v in values)

def packed(values, depth):  # values < 2**depth, packed MSB first
    per_byte = 8 // depth
    values = list(values)
    values += [0] * (-len(values) % per_byte)
    return bytes(sum(v << (8 - depth * (i + 1)) for i, v in enumerate(values[j:j + per_byte]))
                 for j in range(0, len(values), per_byte))

base = natural(500, 375)
jpeg("jpeg_420", base, quality=90, subsampling=2)
jpeg("jpeg_422", base, quality=90, subsampling=1)
jpeg("jpeg_444", base, quality=90, subsampling=0)
jpeg("jpeg_progressive", base, quality=85, subsampling=2, progressive=True)
jpeg("jpeg_gray", base.convert("L"), quality=90)
jpeg("jpeg_odd", natural(333, 249), quality=75, subsampling=2)
jpeg("jpeg_progressive_422_odd", natural(251, 163), quality=80, subsampling=1, progressive=True)
jpeg("jpeg_tiny", natural(9, 7), quality=90)
# PIL writes CMYK as Adobe (inverted) CMYK; K varies so that the conversion is exercised.
r, g, b = natural(301, 203).split()
jpeg("jpeg_cmyk", Image.merge("CMYK", (r, g, b, Image.radial_gradient("L").resize((301, 203)))), quality=90)

# 2x4 and 4x2 luma sampling (baseline, progressive), which PIL cannot write: written by libjpeg
# (61 x 45, quality 50). With IDCT scaling, libjpeg-turbo 2.1.5's jpeg_crop_scanline gets their
# chroma width wrong (fixed upstream in 3.0); the decoder must not crop them then.
SAMPLING_2X4 = """
/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19i
Z2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj
Y2NjY2NjY2P/wAARCAAtAD0DASQAAhEBAxEB/8QAGgAAAgMBAQAAAAAAAAAAAAAAAAQBAwUGAv/EAC8QAAEDAwMDAgQGAwAAAAAA
AAECAxEABBIFEyExQVEUYQYicYEVIyUykdFCUuH/xAAZAQACAwEAAAAAAAAAAAAAAAAABQECBAP/xAAqEQABAgQFAwMFAAAAAAAA
AAABAgMAESFBBBIxUaETIrEjQuFhcZGiwf/aAAwDAQACEQMRAD8As1d9h6xbS082shwGEqB7GlrG2d32Htpe0FgleJxAB5M0jplq
7dLwZRkoCSJA4+9dO061a6UqzfVi+EKBRBPJkjkcdxSGmWy9GX6i5KVoUMAG+TJ57x4qbx0Xd7kyCC6pKU5duAKpXqfrmEt7OEKC
pynsfb3p22sRsC+LnDUrwx/1PSftWJplARmUJDknaGrapNyT2p5hT4iU09sbTiFxlOKgY6Vl2bDjN8y642pDPJU4oQkCDHPSm/Tu
PZBlvMpiRIEfzVepXzTmlKtC5i+lKUqQAeCCJE/Y1pAp0QH1QKt79u3zEdZmPNc2pKtR1NxNvCQ6tSklfHHJrS1zUjqSmkhrbDcz
80zMe3tXluy/D2W79Lm4QkKKIj9wiJ+/imDTaAmqQkbX+1f5WE+MEhWidrn6ShfWtp2+bW24hadsCUqBEya1fh9kWl0pdyCykoIC
liBMjiawrHTX30ZtN5JBj9wHNdJfX1tdWqEW5zUFg8gjsaRsXW9ER6a5CluKO4NvkQeO8eKjTLV27WUIUlECeeKRurr1VwlYbxUE
hMTPc/3W6hoaGn1KleoUr8vCMevPXnxQ6kSkRIbS18QYQzkDQWFzEaiGndRcLR3AqAMOZ4FXaWUWrj4uklgHHDdGOUTMT9q8Wltc
IS1dlASyhWalSOgPJjrxBpf4gvbe8LBt3lOY5ZQCImPMU85fM2Vk7pym1qeCFJyAGPzCR3nvWRZ2Dt6V7TracImfefAPirHnDqWo
hSht7ykpxBmOgp9f6AYkPb3gY4x/PmuAQn3iQ2hw6OwZ9LC5HmkJaBat3TykulQSlBV8vXqKcvr1entOWDSUqbxKZUCTCh/2rXGk
abaB6zTtuKIQTM8H6/SslKze6gybj5t1xIV2kcDt7UUUUVRg5m+odQPJlBgvUaLiqniI0zT2rtDxcUtJTjjiR3n+qVvr51CHLAJR
gg4AwZhJ4+/FbOsD8LcbFj+UHJy/ymIjrPk1hWSRdagFPjMuElXaTBNFFFFbWatly4zfrp87wmxRKmy6dYa0fTWbpgqUpYUF4/KR
4HtU3Opu3iAwUtpQhU5AEGenn3qb55elrDFkdpCkBZETySR3+go+HLVm7u3EPozQhsqCZI5BHiiiiiqmjZcv8ROAo0Xrxrafp7Kd
MTfpUsONhSxyIJSTHET2pC+vnbzDdQ0gImIkTP3pu+uHrRxy0YXiwBiEQDAIk8nnuajS7Ri4U7vNhZGJBJI6z4+lFFFFZlEts9Ua
yHMN3zlY6g1Mj+Y//9k=
"""
SAMPLING_4X2_PROGRESSIVE = """
/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19i
Z2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj
Y2NjY2NjY2P/wgARCAAtAD0DAUIAAhEBAxEB/8QAGQAAAgMBAAAAAAAAAAAAAAAAAwQBAgUA/8QAFgEBAQEAAAAAAAAAAAAAAAAA
AAMB/9oADAMBAAIQAxAAAAGwiKxqI1lUTd75WlI6ZaezXzJwX5tQDwj6CZYWgodELzi9OZg//8QAIBAAAgICAgIDAAAAAAAAAAAA
AQIAAxETBBIiMyEjMv/aAAgBAQABBQK0goinPIwYgIe7Bfjjq1mDZV4mtS0BC1dSZY4NSVkx3VlVWnIdXla6Y57P6Z7LEIplaloX
CIiF5s7hU+L7NkCawzdmxohOyz0ShQxd9YrrDR3MprDBrC8rrGt3LwjWv7su+op5WOdU46hmdipqUNP/xAAcEQACAgIDAAAAAAAA
AAAAAAAAAyEyAhExofD/2gAIAQMBAT8BfGGhVdDaSJp7kbKxNOz/xAAaEQACAwEBAAAAAAAAAAAAAAAAAQIDITER/9oACAECAQE/
Aaq11kor3hXg8ZAZ/8QAIhAAAgICAgICAwAAAAAAAAAAAAERIQISMUEiUQMQMnGh/9oACAEBAAY/AlDXInFChibVexQ+jyocWPav
2UaPkpGs2UjxFl0LVybZfwrs8u/Q9ezXLnmvp/HFlNEQbzwKogWcycG35dHqT3JY8FwOR4fUUb9ouCcKYtu2LSpL7Iwoc+h4rgco
/8QAHhABAQEBAQADAQEBAAAAAAAAAREAITFBUZFhcfD/2gAIAQEAAT8hPlfw7s7r2cz4x98crg+a81kCfR1d4z132A+tEv4zxc7D
XIlkvN09pnHIgJj7Q/3GzpuIRhau6Fi3MuCPM6XzAXc+/wCOIi4pS4norDsEMsEyl+O6pBMz8e33frkn1qx+jQXws/3TnhkxCmnx
5u0+oTP/AHkzsqBeZgQxO/3E2SSTGIkOfmr1bZzCcgH3BJXo/mmQJgnU5h+Shd+hPnDt38s68iXHxoVM2c8zLdXm/9oADAMBAAIA
AwAAABBLI9t+lw5UX//EACERAQABAwMFAQAAAAAAAAAAAAERACFBcYHBMVGhsdHx/9oACAEDAQE/ELAYIoyxp9dqkBwu6vTmpicn
t+04HvfYx5pRN1cV/8QAJBEAAgEBBgcAAAAAAAAAAAAAAREAMSFBUaGx8GFxgZHB0eH/2gAIAQIBAT8QBvLhxlnphjnTtGQm4Zna
juoRqd/VDaONvSmqhognmfG/U//EACAQAQEAAgIDAQEBAQAAAAAAAAERACExQVFhgXGR0eH/2gAIAQEAAT8QeEgYD05w9ytoB23O
C3tBnGbQiQQEZvjNMmFBLXAJqMBhaauF5xAc7oxEoXh8FsvzNVoVKGvuTpJMrtqbNdmaCmKUJ/cSsII6RKX45o+GcDeJNIuxOnHW
dlDgds51HFH0AElnmZfo0mzXfc8YMxHxBoMEWH9CTm2ecgwHGutuRepHIjrueMbzJd6wHkkBwU7veL8c2+74HxnWiK26fXvClaX+
5xfmIFKrytnr1m0QBTOEl++MgMAi3t/3D9ED23zvxiCHADZwZvlPQcH984wIT5OTK1goKwf9xuS5A7v+YHa8sbFr7rEII5h4PWHX
RoEbx594BSA7IqZqXrNF+5KW/cG0Abbp/fzFZwTpTR16wQaa9kk5vlwgG0vSsXArzWS7VO/wyzfhSbE8ZBOkSMErt325GRlCqc3x
+Z//2Q==
"""
for name, text in (("jpeg_2x4", SAMPLING_2X4), ("jpeg_4x2_progressive", SAMPLING_4X2_PROGRESSIVE)):
    open(f"{out}/{name}.jpg", "wb").write(base64.b64decode(text))
    record(name, f"{name}.jpg", "jpeg")

# Junk before the end marker (common in scraped datasets): libjpeg warns "Corrupt JPEG data: 239
# extraneous bytes before marker 0xd9" (one byte it absorbs silently), PIL decodes.
data = open(f"{out}/jpeg_420.jpg", "rb").read()
assert data.endswith(b"\xff\xd9")
open(f"{out}/jpeg_junk_before_eoi.jpg", "wb").write(data[:-2] + b"\x7f" * 240 + data[-2:])
record("jpeg_junk_before_eoi", "jpeg_junk_before_eoi.jpg", "jpeg")

png("png_rgb", base)
rgba = base.copy()
rgba.putalpha(Image.radial_gradient("L").resize(base.size))
png("png_rgba", rgba)
png("png_palette", base.convert("P", palette=Image.ADAPTIVE, colors=200))
png("png_gray", base.convert("L"))
png("png_gray_alpha", base.convert("LA"))
png("png_1bit", base.convert("1"))
# A PNG named .JPEG (ImageNet has one): the format comes from the bytes.
base.save(f"{out}/png_named.JPEG", "PNG")
record("png_named_jpeg", "png_named.JPEG", "png")

w, h = 123, 77
small = natural(w, h)
rgb_rows = [small.tobytes()[y * w * 3:(y + 1) * w * 3] for y in range(h)]
gray_rows = [small.convert("L").tobytes()[y * w:(y + 1) * w] for y in range(h)]
raw_png(f"{out}/png_rgb16.png", w, h, 16, 2, [samples16(row) for row in rgb_rows])
record("png_rgb16", "png_rgb16.png", "png")
raw_png(f"{out}/png_rgba16.png", w, h, 16, 6,
        [samples16(b"".join(row[x * 3:x * 3 + 3] + bytes((x * 2 % 256,)) for x in range(w))) for row in rgb_rows])
record("png_rgba16", "png_rgba16.png", "png")
raw_png(f"{out}/png_gray_alpha16.png", w, h, 16, 4,
        [samples16(b"".join(bytes((row[x], 255 - row[x])) for x in range(w))) for row in gray_rows])
record("png_gray_alpha16", "png_gray_alpha16.png", "png")
raw_png(f"{out}/png_interlaced.png", w, h, 8, 2, rgb_rows, pixel_bytes=3, interlace=True)
record("png_interlaced", "png_interlaced.png", "png")
raw_png(f"{out}/png_interlaced_rgb16.png", w, h, 16, 2, [samples16(row) for row in rgb_rows], pixel_bytes=6,
        interlace=True)
record("png_interlaced_rgb16", "png_interlaced_rgb16.png", "png")
for depth in (2, 4):
    raw_png(f"{out}/png_gray{depth}.png", w, h, depth, 0,
            [packed((v >> (8 - depth) for v in row), depth) for row in gray_rows])
    record(f"png_gray{depth}", f"png_gray{depth}.png", "png")
# A 4-bit palette with transparency; an 8-bit palette of 16 colours whose indexes run past it (PIL
# shows its gray ramp there).
plte = bytes(rng.randrange(256) for _ in range(16 * 3))
raw_png(f"{out}/png_palette4_trns.png", w, h, 4, 3,
        [packed((rng.randrange(16) for _ in range(w)), 4) for _ in range(h)],
        plte=plte, trns=bytes(rng.randrange(256) for _ in range(16)))
record("png_palette4_trns", "png_palette4_trns.png", "png")
raw_png(f"{out}/png_palette_short.png", w, h, 8, 3, [bytes(rng.randrange(256) for _ in range(w)) for _ in range(h)],
        plte=plte)
record("png_palette_short", "png_palette_short.png", "png")
# 16-bit gray: PIL opens it as a 32-bit "I" image whose convert("RGB") clips at 255 (nearly all
# white); dnas keeps the high byte, as PIL does for every other 16-bit PNG. The reference is that.
raw_png(f"{out}/png_gray16.png", w, h, 16, 0, [samples16(row) for row in gray_rows])
record("png_gray16", "png_gray16.png", "png",
       reference=b"".join(bytes((v, v, v)) for row in gray_rows for v in row))

# Headers that claim 60000 x 60000 pixels, with little data after them.
data = bytearray(open(f"{out}/jpeg_420.jpg", "rb").read())
sof = data.index(b"\xff\xc0")
data[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
open(f"{out}/jpeg_huge.jpg", "wb").write(data)
raw_png(f"{out}/png_huge.png", 60000, 60000, 8, 2, [b""])

open(f"{out}/manifest.txt", "w").write("\n".join(manifest) + "\n")
)PY";

std::string python_with_pil() {
  for (const char* python : {"python3", "/usr/bin/python3"}) {
    const std::string probe = std::string(python) + " -c 'import PIL' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return python;
  }
  return "";
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct Fixture {
  std::string name, path;
  ImageFormat format = ImageFormat::unknown;
  int64_t width = 0, height = 0;
  std::string bytes;      // the file
  std::string expected;   // PIL's RGB bytes
};

// The fixtures, written once per test binary; `error` says why there are none.
struct Fixtures {
  TempDir dir;
  std::string error;
  std::vector<Fixture> all;

  Fixtures() {
    const std::string python = python_with_pil();
    if (python.empty()) {
      error = "no python3 with PIL (scripts/setup.sh installs Debian's python3-pil)";
      return;
    }
    std::ofstream(dir.file("fixtures.py")) << kFixtureScript;
    const std::string command =
        python + " " + dir.file("fixtures.py") + " " + dir.file("") + " 2>" + dir.file("python.log");
    if (std::system(command.c_str()) != 0) {
      error = command + " failed: " + read_bytes(dir.file("python.log"));
      return;
    }
    std::ifstream manifest(dir.file("manifest.txt"));
    std::string format, reference;
    Fixture f;
    while (manifest >> f.name >> f.path >> format >> f.width >> f.height >> reference) {
      f.path = dir.file(f.path);
      f.format = format == "jpeg" ? ImageFormat::jpeg : ImageFormat::png;
      f.bytes = read_bytes(f.path);
      f.expected = read_bytes(dir.file(reference));
      all.push_back(f);
    }
    if (all.size() < 20) error = "the fixture manifest lists only " + std::to_string(all.size()) + " images";
  }

  const Fixture& get(const std::string& name) const {
    for (const Fixture& f : all)
      if (f.name == name) return f;
    throw std::runtime_error("no fixture " + name);
  }
};

const Fixtures& fixtures() {
  static const Fixtures instance;
  return instance;
}

#define REQUIRE_FIXTURES() ASSERT_EQ(fixtures().error, "") << "cannot write the test images"

// "" when `got` holds exactly `want`'s bytes, else where the first difference is.
std::string difference(const RgbImage& got, int64_t width, int64_t height, const std::string& want) {
  std::ostringstream out;
  if (got.width != width || got.height != height) {
    out << "size " << got.width << "x" << got.height << ", want " << width << "x" << height;
    return out.str();
  }
  if (got.pixels.size() != want.size()) {
    out << got.pixels.size() << " bytes, want " << want.size();
    return out.str();
  }
  int64_t differing = 0, first = -1;
  for (size_t i = 0; i < want.size(); ++i) {
    if (got.pixels[i] == static_cast<uint8_t>(want[i])) continue;
    if (first < 0) first = static_cast<int64_t>(i);
    ++differing;
  }
  if (differing == 0) return "";
  const int64_t pixel = first / 3;
  out << differing << " bytes differ; the first at x=" << pixel % width << " y=" << pixel / width
      << " channel " << first % 3 << ": " << int(got.pixels[first]) << ", want " << int(uint8_t(want[first]));
  return out.str();
}

// Rows [r.y, r.y + r.height) and columns [r.x, r.x + r.width) of `image`.
std::string cut(const RgbImage& image, const PixelRect& r) {
  std::string out;
  for (int64_t y = r.y; y < r.y + r.height; ++y)
    out.append(reinterpret_cast<const char*>(image.row(y)) + r.x * 3, static_cast<size_t>(r.width) * 3);
  return out;
}

std::string describe(const PixelRect& r, int d) {
  std::ostringstream out;
  out << "region " << r.width << "x" << r.height << " at (" << r.x << ", " << r.y << ") scale 1/" << d;
  return out.str();
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Regions of a width x height image: all of it, one-pixel rows and columns along every edge, the
// corners, spans around iMCU boundaries (8, 16, 32) and random ones, large and small.
std::vector<PixelRect> regions_of(int64_t width, int64_t height, std::mt19937& random) {
  std::vector<PixelRect> out = {{0, 0, width, height},          {0, 0, width, 1},
                                {0, height - 1, width, 1},      {0, 0, 1, height},
                                {width - 1, 0, 1, height},      {0, 0, 1, 1},
                                {width - 1, 0, 1, 1},           {0, height - 1, 1, 1},
                                {width - 1, height - 1, 1, 1}};
  for (int64_t b : {7, 8, 9, 15, 16, 17, 31, 32, 33}) {
    const int64_t x = std::min(b, width - 1), y = std::min(b, height - 1);
    out.push_back({x, y, std::min<int64_t>(b + 3, width - x), std::min<int64_t>(b + 2, height - y)});
    out.push_back({x, 0, width - x, height});
    out.push_back({0, y, width, height - y});
  }
  auto below = [&](int64_t n) { return std::uniform_int_distribution<int64_t>(0, n - 1)(random); };
  for (int i = 0; i < 40; ++i) {
    PixelRect r;
    r.x = below(width);
    r.y = below(height);
    const bool small = i % 2 == 0;
    r.width = 1 + below(small ? std::min<int64_t>(20, width - r.x) : width - r.x);
    r.height = 1 + below(small ? std::min<int64_t>(20, height - r.y) : height - r.y);
    out.push_back(r);
  }
  return out;
}

void expect_decode_error(const std::string& message, const std::string& path) {
  EXPECT_EQ(message.rfind(path + ": cannot decode image (", 0), 0u) << message;
  EXPECT_EQ(message.back(), ')') << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(ImageDecode, SniffsTheFormatFromMagicBytes) {
  EXPECT_EQ(sniff_image_format(std::string("\xFF\xD8\xFF\xE0", 4)), ImageFormat::jpeg);
  EXPECT_EQ(sniff_image_format(std::string("\x89PNG\r\n\x1A\n", 8)), ImageFormat::png);
  EXPECT_EQ(sniff_image_format(std::string("\x89PNG\r\n\x1A", 7)), ImageFormat::unknown);
  EXPECT_EQ(sniff_image_format(std::string("\xFF\xD8", 2)), ImageFormat::unknown);
  EXPECT_EQ(sniff_image_format("GIF89a"), ImageFormat::unknown);
  EXPECT_EQ(sniff_image_format(""), ImageFormat::unknown);
}

TEST(ImageDecode, FullDecodeEqualsPilConvertRgb) {
  REQUIRE_FIXTURES();
  for (const Fixture& f : fixtures().all) {
    SCOPED_TRACE(f.name);
    const RgbImage image = decode_image(f.bytes, f.path);
    EXPECT_EQ(difference(image, f.width, f.height, f.expected), "");
    // The same through the region entry point, with the whole image as the region.
    const RgbImage whole = decode_image_region(f.bytes, f.path, {0, 0, f.width, f.height}, 1);
    EXPECT_EQ(difference(whole, f.width, f.height, f.expected), "");
  }
}

TEST(ImageDecode, FormatComesFromTheBytesNotTheName) {
  REQUIRE_FIXTURES();
  const Fixture& f = fixtures().get("png_named_jpeg");
  EXPECT_NE(f.path.find(".JPEG"), std::string::npos);
  EXPECT_EQ(read_image_info(f.bytes, f.path).format, ImageFormat::png);
  EXPECT_EQ(difference(decode_image(f.bytes, f.path), f.width, f.height, f.expected), "");
}

TEST(ImageDecode, ReadImageInfoGivesSizeAndFormatFromTheHeaderAlone) {
  REQUIRE_FIXTURES();
  for (const Fixture& f : fixtures().all) {
    SCOPED_TRACE(f.name);
    const ImageInfo info = read_image_info(f.bytes, f.path);
    EXPECT_EQ(info.format, f.format);
    EXPECT_EQ(info.width, f.width);
    EXPECT_EQ(info.height, f.height);
  }
  // Only the header is read: the first half of a file (no end, half the pixel data) is enough,
  // while decoding it fails.
  for (const char* name : {"jpeg_420", "jpeg_progressive", "png_rgb", "png_interlaced"}) {
    SCOPED_TRACE(name);
    const Fixture& f = fixtures().get(name);
    const std::string half = f.bytes.substr(0, f.bytes.size() / 2);
    const ImageInfo info = read_image_info(half, f.path);
    EXPECT_EQ(info.width, f.width);
    EXPECT_EQ(info.height, f.height);
    expect_decode_error(error_of([&] { decode_image(half, f.path); }), f.path);
  }
}

// Every region, at every scale, equals the same region cut from the full decode at that scale;
// the full decode at 1/d is ceil(w / d) x ceil(h / d).
TEST(ImageDecode, RegionEqualsTheCutOfTheFullDecodeAtEveryScale) {
  REQUIRE_FIXTURES();
  std::mt19937 random(20240611);
  int64_t checked = 0;
  for (const Fixture& f : fixtures().all) {
    for (int d : {1, 2, 4, 8}) {
      if (f.format == ImageFormat::png && d != 1) continue;
      SCOPED_TRACE(f.name + " at 1/" + std::to_string(d));
      const int64_t width = ceil_div(f.width, d), height = ceil_div(f.height, d);
      const RgbImage full = decode_image_region(f.bytes, f.path, {0, 0, width, height}, d);
      ASSERT_EQ(full.width, width);
      ASSERT_EQ(full.height, height);
      ASSERT_EQ(full.pixels.size(), static_cast<size_t>(width * height * 3));
      if (d == 1) {
        ASSERT_EQ(difference(full, f.width, f.height, f.expected), "");
      }
      for (const PixelRect& r : regions_of(width, height, random)) {
        const RgbImage region = decode_image_region(f.bytes, f.path, r, d);
        EXPECT_EQ(difference(region, r.width, r.height, cut(full, r)), "") << describe(r, d);
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 2000);
}

// A scaled decode is libjpeg's DCT scaling, not a resize: at 1/8 each pixel is its 8x8 block's
// mean (the DC coefficient), close to the mean of the full decode's block.
TEST(ImageDecode, ScaledDecodeIsCloseToTheBlockMeans) {
  REQUIRE_FIXTURES();
  const Fixture& f = fixtures().get("jpeg_444");
  const RgbImage full = decode_image(f.bytes, f.path);
  const RgbImage eighth = decode_image_region(f.bytes, f.path, {0, 0, ceil_div(f.width, 8), ceil_div(f.height, 8)}, 8);
  int64_t far = 0;
  for (int64_t by = 0; by < f.height / 8; ++by)
    for (int64_t bx = 0; bx < f.width / 8; ++bx)
      for (int c = 0; c < 3; ++c) {
        int sum = 0;
        for (int y = 0; y < 8; ++y)
          for (int x = 0; x < 8; ++x) sum += full.row(by * 8 + y)[(bx * 8 + x) * 3 + c];
        if (std::abs(sum / 64.0 - eighth.row(by)[bx * 3 + c]) > 3) ++far;
      }
  EXPECT_LT(far, (f.width / 8) * (f.height / 8) * 3 / 100);
}

TEST(ImageDecode, TruncatedJpegIsAnError) {
  REQUIRE_FIXTURES();
  for (const char* name : {"jpeg_420", "jpeg_444", "jpeg_progressive", "jpeg_gray", "jpeg_cmyk"}) {
    SCOPED_TRACE(name);
    const Fixture& f = fixtures().get(name);
    const std::string half = f.bytes.substr(0, f.bytes.size() / 2);
    const std::string message = error_of([&] { decode_image(half, f.path); });
    expect_decode_error(message, f.path);
    EXPECT_NE(message.find("Premature end of JPEG file"), std::string::npos) << message;
    // At a reduced scale, and for a region that reaches into the missing half, as well.
    expect_decode_error(error_of([&] { decode_image_region(half, f.path, {0, 0, f.width / 2, f.height / 2}, 2); }),
                        f.path);
    expect_decode_error(
        error_of([&] { decode_image_region(half, f.path, {1, f.height - 9, f.width - 1, 9}, 1); }), f.path);
  }
}

TEST(ImageDecode, JpegWithoutItsEndMarkerIsAnError) {
  REQUIRE_FIXTURES();
  const Fixture& f = fixtures().get("jpeg_420");
  const std::string cut_end = f.bytes.substr(0, f.bytes.size() - 2);
  expect_decode_error(error_of([&] { decode_image(cut_end, f.path); }), f.path);
}

TEST(ImageDecode, CorruptJpegDataIsAnError) {
  REQUIRE_FIXTURES();
  // A restart marker in the middle of the scan of a file without restart intervals: libjpeg's
  // "Corrupt JPEG data: premature end of data segment" warning, which would leave gray blocks.
  const Fixture& f = fixtures().get("jpeg_420");
  std::string corrupt = f.bytes;
  corrupt.insert(corrupt.size() / 2, "\xFF\xD0", 2);
  const std::string message = error_of([&] { decode_image(corrupt, f.path); });
  expect_decode_error(message, f.path);
  EXPECT_NE(message.find("Corrupt JPEG data"), std::string::npos) << message;
}

TEST(ImageDecode, TruncatedPngIsAnError) {
  REQUIRE_FIXTURES();
  for (const char* name : {"png_rgb", "png_palette", "png_interlaced", "png_rgb16"}) {
    SCOPED_TRACE(name);
    const Fixture& f = fixtures().get(name);
    const std::string half = f.bytes.substr(0, f.bytes.size() / 2);
    expect_decode_error(error_of([&] { decode_image(half, f.path); }), f.path);
    // Without IEND only: the pixels are all there, but the file is cut.
    const std::string no_end = f.bytes.substr(0, f.bytes.size() - 12);
    expect_decode_error(error_of([&] { decode_image(no_end, f.path); }), f.path);
  }
}

TEST(ImageDecode, GarbageAndEmptyFilesAreErrors) {
  std::mt19937 random(7);
  std::string garbage(4096, '\0');
  for (char& c : garbage) c = static_cast<char>(random());
  const std::string path = "/data/train/n01440764/garbage.JPEG";
  const std::string jpeg_start = std::string("\xFF\xD8\xFF", 3) + garbage;
  const std::string png_start = std::string("\x89PNG\r\n\x1A\n", 8) + garbage;
  for (const std::string& bytes : {garbage, jpeg_start, png_start, std::string()}) {
    const std::string message = error_of([&] { decode_image(bytes, path); });
    expect_decode_error(message, path);
    expect_decode_error(error_of([&] { read_image_info(bytes, path); }), path);
    expect_decode_error(error_of([&] { decode_image_region(bytes, path, {0, 0, 1, 1}, 1); }), path);
  }
  EXPECT_NE(error_of([&] { decode_image("", path); }).find("empty file"), std::string::npos);
  EXPECT_NE(error_of([&] { decode_image(garbage, path); }).find("neither JPEG nor PNG"), std::string::npos);
}

TEST(ImageDecode, HugeHeadersAreRefusedBeforeDecoding) {
  REQUIRE_FIXTURES();
  for (const char* file : {"jpeg_huge.jpg", "png_huge.png"}) {
    SCOPED_TRACE(file);
    const std::string path = fixtures().dir.file(file);
    const std::string bytes = read_bytes(path);
    ASSERT_FALSE(bytes.empty());
    for (const std::string& message :
         {error_of([&] { read_image_info(bytes, path); }), error_of([&] { decode_image(bytes, path); }),
          error_of([&] { decode_image_region(bytes, path, {0, 0, 8, 8}, 1); })}) {
      expect_decode_error(message, path);
      EXPECT_NE(message.find("60000x60000 is more than 268435456 pixels"), std::string::npos) << message;
    }
  }
}

TEST(ImageDecode, BadRegionsAndScalesAreErrors) {
  REQUIRE_FIXTURES();
  const Fixture& jpeg = fixtures().get("jpeg_420");  // 500 x 375; 63 x 47 at 1/8
  for (const PixelRect& r : std::vector<PixelRect>{{0, 0, 0, 1},
                                                   {0, 0, 1, 0},
                                                   {-1, 0, 2, 2},
                                                   {0, -1, 2, 2},
                                                   {499, 0, 2, 1},
                                                   {0, 374, 1, 2},
                                                   {0, 0, 501, 375},
                                                   {INT64_MAX, 0, INT64_MAX, 1}}) {
    const std::string message = error_of([&] { decode_image_region(jpeg.bytes, jpeg.path, r, 1); });
    expect_decode_error(message, jpeg.path);
    EXPECT_NE(message.find("is not a non-empty part of the 500x375 image"), std::string::npos) << message;
  }
  EXPECT_NE(error_of([&] { decode_image_region(jpeg.bytes, jpeg.path, {0, 0, 64, 47}, 8); })
                .find("not a non-empty part of the 63x47 image at scale 1/8"),
            std::string::npos);
  for (int d : {0, 3, 16, -1}) {
    const std::string message = error_of([&] { decode_image_region(jpeg.bytes, jpeg.path, {0, 0, 1, 1}, d); });
    expect_decode_error(message, jpeg.path);
    EXPECT_NE(message.find("must be 1, 2, 4 or 8"), std::string::npos) << message;
  }
  const Fixture& png = fixtures().get("png_rgb");
  const std::string message = error_of([&] { decode_image_region(png.bytes, png.path, {0, 0, 1, 1}, 2); });
  expect_decode_error(message, png.path);
  EXPECT_NE(message.find("a PNG decodes only at full size"), std::string::npos) << message;
}

}  // namespace
}  // namespace dnas

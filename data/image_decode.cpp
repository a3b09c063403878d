// JPEG (libjpeg-turbo) and PNG (libpng) decoding to 8-bit RGB; the contract is in image_decode.h.
//
// How the libraries' errors become dnas::Error: libjpeg and libpng report an error through a
// callback that must not return. Ours format the library's message into a plain struct and
// longjmp back to `guarded` (below), the one function here that calls setjmp; `guarded` runs one
// library call (a lambda with no C++ objects of its own), so the jump never skips a destructor.
// The caller then throws. Every library call that can fail goes through `guarded`; the library
// objects live in RAII handles created before any jump can happen, so they are always released.
//
// Exactness of partial JPEG decodes (checked by tests/test_image_decode.cpp on random regions of
// 4:2:0 / 4:2:2 / 4:4:4 / grayscale / progressive / CMYK files at every scale):
//   - jpeg_crop_scanline moves the left edge down to an iMCU boundary, and libjpeg-turbo's fancy
//     upsampler then treats both cut edges as image edges (it replicates the edge chroma sample
//     instead of reading its neighbour), so the columns next to a cut differ from a full decode.
//     We ask for one iMCU more on each side than the region needs and cut the region out of
//     that: the region's pixels never see a cut edge. (One column each side would do; none fails.)
//   - libjpeg-turbo 2.1.5 computes the cropped width of a component wrongly when IDCT scaling
//     replaces part of the upsampling (fixed upstream in 3.0 for 2x4 / 4x2 sampling): then we do
//     not crop and decode the full width instead.
//   - jpeg_skip_scanlines leaves the decoder exactly where reading the skipped rows would have,
//     context rows of 4:2:0 fancy upsampling included: no margin is needed above the region.
#include "data/image_decode.h"

// jpeglib.h needs size_t and FILE declared first.
#include <cstddef>
#include <cstdio>
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on
#include <png.h>

#include <algorithm>
#include <array>
#include <csetjmp>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"

namespace dnas {
namespace {

constexpr size_t kMessageLength = 256;

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw Error(path + ": cannot decode image (" + reason + ")");
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

void check_pixel_count(int64_t width, int64_t height, const std::string& path) {
  if (width <= 0 || height <= 0)
    fail(path, "the header gives an empty size " + std::to_string(width) + "x" + std::to_string(height));
  if (width > kMaxImagePixels / height)
    fail(path, std::to_string(width) + "x" + std::to_string(height) + " is more than " +
                   std::to_string(kMaxImagePixels) + " pixels");
}

// A bad region is the caller's bug, but it must not crash: an Error like every other refusal.
void check_region(const PixelRect& r, const PixelRect& all, int d, const std::string& path) {
  DNAS_CHECK(r.x >= 0 && r.y >= 0 && r.width > 0 && r.height > 0 && r.width <= all.width - r.x &&
                 r.height <= all.height - r.y,
             path, ": cannot decode image (the region ", r.width, "x", r.height, " at (", r.x, ", ", r.y,
             ") is not a non-empty part of the ", all.width, "x", all.height, " image at scale 1/", d, ")");
}

// An image of r's size whose pixels are reserved, not filled (rows are appended as decoded): a
// header that lies about the size costs address space, not memory.
RgbImage reserved_image(const PixelRect& r) {
  RgbImage image;
  image.width = r.width;
  image.height = r.height;
  image.pixels.reserve(static_cast<size_t>(r.width * r.height * 3));
  return image;
}

// Where a longjmp from a library callback lands, and the message it leaves.
struct JumpTarget {
  std::jmp_buf jump;
  char message[kMessageLength] = {};
};

// Runs `call` (one or a few library calls, no C++ objects of its own); false when the library
// reported an error (its text is in target.message).
template <typename Call>
bool guarded(JumpTarget& target, const Call& call) {
  if (setjmp(target.jump) != 0) return false;
  call();
  return true;
}

// ---------------------------------------------------------------------------------------------
// JPEG

// libjpeg's error manager, extended with the jump target. `pub` must come first: libjpeg hands
// the callbacks a pointer to it.
struct JpegErrorManager {
  jpeg_error_mgr pub;
  JumpTarget target;
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* manager = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  char text[JMSG_LENGTH_MAX] = {};
  (*cinfo->err->format_message)(cinfo, text);
  std::snprintf(manager->target.message, kMessageLength, "libjpeg: %s", text);
  std::longjmp(manager->target.jump, 1);
}

// Warnings (level -1) are errors: they mean the data is damaged ("Premature end of JPEG file",
// "Corrupt JPEG data: bad Huffman code", ...) and libjpeg would go on with made-up pixels. The one
// exception is junk between markers ("Corrupt JPEG data: N extraneous bytes before marker 0xd9"):
// it changes no pixel, PIL accepts it, and scraped datasets hold such files (bytes appended
// before the end marker). Trace messages (level >= 0) are ignored.
void jpeg_emit_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  if (cinfo->err->msg_code == JWRN_EXTRANEOUS_DATA) {
    cinfo->err->num_warnings++;
    return;
  }
  jpeg_error_exit(cinfo);
}

// The columns libjpeg decodes (after jpeg_crop_scanline): [x, x + width) of the scaled image.
struct DecodedColumns {
  int64_t x = 0, width = 0;
};

// The libjpeg objects, released by the destructor (a member, so that it also runs when the
// decoder's constructor throws).
struct JpegHandle {
  JpegErrorManager errors{};
  jpeg_decompress_struct cinfo{};
  bool created = false;
  JpegHandle() = default;
  JpegHandle(const JpegHandle&) = delete;
  JpegHandle& operator=(const JpegHandle&) = delete;
  ~JpegHandle() {
    if (created) jpeg_destroy_decompress(&cinfo);  // also aborts a decode in progress
  }
};

class JpegDecoder {
 public:
  // Reads the header (markers up to the first scan); nothing is decoded yet.
  JpegDecoder(const std::string& bytes, const std::string& path) : path_(path) {
    cinfo_.err = jpeg_std_error(&handle_.errors.pub);
    handle_.errors.pub.error_exit = jpeg_error_exit;
    handle_.errors.pub.emit_message = jpeg_emit_message;
    run([&] { jpeg_create_decompress(&cinfo_); });
    handle_.created = true;
    run([&] {
      jpeg_mem_src(&cinfo_, reinterpret_cast<const unsigned char*>(bytes.data()),
                   static_cast<unsigned long>(bytes.size()));
      jpeg_read_header(&cinfo_, TRUE);
    });
    check_pixel_count(cinfo_.image_width, cinfo_.image_height, path_);
  }

  int64_t width() const { return cinfo_.image_width; }
  int64_t height() const { return cinfo_.image_height; }

  // PIL's settings (ISLOW IDCT and fancy upsampling are libjpeg's defaults, set anyway): RGB out
  // of YCbCr / RGB / grayscale, CMYK out of CMYK / YCCK (converted below as PIL does).
  void start(int scale_denominator) {
    cinfo_.scale_num = 1;
    cinfo_.scale_denom = static_cast<unsigned int>(scale_denominator);
    cinfo_.dct_method = JDCT_ISLOW;
    cinfo_.do_fancy_upsampling = TRUE;
    cinfo_.out_color_space = cinfo_.num_components == 4 ? JCS_CMYK : JCS_RGB;
    run([&] { jpeg_start_decompress(&cinfo_); });
    DNAS_ASSERT(cinfo_.output_components == 3 || cinfo_.output_components == 4, "libjpeg gave ",
                cinfo_.output_components, " components");
  }
  int64_t output_width() const { return cinfo_.output_width; }
  int64_t output_height() const { return cinfo_.output_height; }
  bool cmyk() const { return cinfo_.out_color_space == JCS_CMYK; }
  int components() const { return cinfo_.output_components; }

  // Limits decoding to the columns [x, x + width) plus one iMCU on each side (see the top of the
  // file); returns the columns libjpeg will decode.
  DecodedColumns crop(int64_t x, int64_t width) {
    const int64_t margin = int64_t{cinfo_.min_DCT_scaled_size} * cinfo_.max_h_samp_factor;
    const int64_t left = std::max<int64_t>(0, x - margin);
    const int64_t right = std::min<int64_t>(output_width(), x + width + margin);
    if (right - left == output_width() || !crop_widths_are_right(left, right)) return {0, output_width()};
    JDIMENSION xoffset = static_cast<JDIMENSION>(left);
    JDIMENSION cropped = static_cast<JDIMENSION>(right - left);
    run([&] { jpeg_crop_scanline(&cinfo_, &xoffset, &cropped); });
    DNAS_ASSERT(xoffset <= left && xoffset + cropped == right, "jpeg_crop_scanline gave ", xoffset, "+",
                cropped, " for ", left, "+", right - left);
    return {xoffset, cropped};
  }

  void skip_rows(int64_t rows) {
    if (rows > 0) run([&] { jpeg_skip_scanlines(&cinfo_, static_cast<JDIMENSION>(rows)); });
  }

  // The next output row, `components()` bytes per decoded column, into `row`.
  void read_row(std::vector<uint8_t>& row) {
    row.resize(static_cast<size_t>(cinfo_.output_width) * static_cast<size_t>(cinfo_.output_components));
    JSAMPROW rows[1] = {row.data()};
    JDIMENSION got = 0;
    run([&] { got = jpeg_read_scanlines(&cinfo_, rows, 1); });
    if (got != 1) fail(path_, "libjpeg returned no row");
  }

  // After the last row: reads up to the end marker, so that damage after the pixels counts too.
  void finish() {
    run([&] { jpeg_finish_decompress(&cinfo_); });
  }

 private:
  template <typename Call>
  void run(const Call& call) {
    if (!guarded(handle_.errors.target, call)) fail(path_, handle_.errors.target.message);
  }

  // libjpeg-turbo 2.1.5's jpeg_crop_scanline sets each component's downsampled width to
  // ceil(width * h / max_h), which is wrong where IDCT scaling does part of the upsampling
  // (DCT_scaled_size != min_DCT_scaled_size): the right width is
  // ceil(width * h * DCT / (max_h * min_DCT)). It matters only for a component that is still
  // upsampled (2x4 / 4x2 sampling at 1/2 and 1/4: part of each row would stay undecoded); one
  // that IDCT scaling brings to full size (4:2:0 chroma at 1/2 and below) is not upsampled at all.
  bool crop_widths_are_right(int64_t left, int64_t right) const {
    const int64_t min_dct = cinfo_.min_DCT_scaled_size;
    const int64_t align = min_dct * cinfo_.max_h_samp_factor;
    const int64_t width = right - (left / align) * align;
    for (int ci = 0; ci < cinfo_.num_components; ++ci) {
      const jpeg_component_info& c = cinfo_.comp_info[ci];
      const bool upsampled = c.h_samp_factor * c.DCT_scaled_size != cinfo_.max_h_samp_factor * min_dct ||
                             c.v_samp_factor * c.DCT_scaled_size != cinfo_.max_v_samp_factor * min_dct;
      const int64_t used = ceil_div(width * c.h_samp_factor, cinfo_.max_h_samp_factor);
      const int64_t right_width =
          ceil_div(width * c.h_samp_factor * c.DCT_scaled_size, cinfo_.max_h_samp_factor * min_dct);
      if (upsampled && used != right_width) return false;
    }
    return true;
  }

  std::string path_;
  JpegHandle handle_;
  jpeg_decompress_struct& cinfo_ = handle_.cinfo;
};

// One channel of PIL 9.4's CMYK -> RGB (libImaging/Convert.c cmyk2rgb, fed by the "CMYK;I"
// unpacker that inverts Adobe's stored values): nk = 255 - k, out = CLIP8(nk - MULDIV255(c, nk)),
// MULDIV255(a, b) = (t + (t >> 8)) >> 8 with t = a * b + 128.
uint8_t pil_cmyk_channel(int inverted_c, int nk) {
  const int t = inverted_c * nk + 128;
  const int v = nk - (((t >> 8) + t) >> 8);
  return static_cast<uint8_t>(std::clamp(v, 0, 255));
}

// libjpeg's CMYK output holds Adobe's inverted values: stored c is 255 - C, stored k is 255 - K.
void cmyk_to_rgb(const uint8_t* in, int64_t count, uint8_t* out) {
  for (int64_t i = 0; i < count; ++i, in += 4, out += 3) {
    const int nk = in[3];  // 255 - K
    for (int ch = 0; ch < 3; ++ch) out[ch] = pil_cmyk_channel(255 - in[ch], nk);
  }
}

// Appends columns [x, x + width) of a decoded row (starting at column `row_x`) to `image`.
void append_jpeg_row(const JpegDecoder& decoder, const std::vector<uint8_t>& row, int64_t row_x, const PixelRect& r,
                     std::vector<uint8_t>& image) {
  const size_t start = image.size();
  image.resize(start + static_cast<size_t>(r.width) * 3);
  const uint8_t* in = row.data() + (r.x - row_x) * decoder.components();
  if (decoder.cmyk())
    cmyk_to_rgb(in, r.width, image.data() + start);
  else
    std::memcpy(image.data() + start, in, static_cast<size_t>(r.width) * 3);
}

RgbImage decode_jpeg(const std::string& bytes, const std::string& path, const PixelRect* region, int d) {
  JpegDecoder decoder(bytes, path);
  const PixelRect all{0, 0, ceil_div(decoder.width(), d), ceil_div(decoder.height(), d)};
  if (region != nullptr) check_region(*region, all, d, path);
  const PixelRect r = region != nullptr ? *region : all;
  decoder.start(d);
  DNAS_ASSERT(decoder.output_width() == all.width && decoder.output_height() == all.height, "libjpeg scaled ",
              decoder.width(), "x", decoder.height(), " by 1/", d, " to ", decoder.output_width(), "x",
              decoder.output_height());
  const DecodedColumns columns = decoder.crop(r.x, r.width);
  decoder.skip_rows(r.y);
  RgbImage image = reserved_image(r);
  std::vector<uint8_t> row;
  for (int64_t y = 0; y < r.height; ++y) {
    decoder.read_row(row);
    append_jpeg_row(decoder, row, columns.x, r, image.pixels);
  }
  // Every row read: check the rest of the file too. Else the destructor aborts the decode and
  // the rows below the region are never read (nor checked).
  if (r.y + r.height == all.height) decoder.finish();
  return image;
}

// ---------------------------------------------------------------------------------------------
// PNG

void png_error_callback(png_structp png, png_const_charp message) {
  auto* target = static_cast<JumpTarget*>(png_get_error_ptr(png));
  std::snprintf(target->message, kMessageLength, "libpng: %s", message);
  std::longjmp(target->jump, 1);
}

// libpng's warnings are about ancillary chunks (bad CRC, odd ICC profiles, palette indexes past
// the palette): the pixels are fine, and PIL ignores them as well.
void png_warning_callback(png_structp, png_const_charp) {}

struct PngSource {
  const std::string* bytes = nullptr;
  size_t offset = 0;
};

void png_read_callback(png_structp png, png_bytep out, size_t count) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (count > source->bytes->size() - source->offset) png_error(png, "unexpected end of file");
  std::memcpy(out, source->bytes->data() + source->offset, count);
  source->offset += count;
}

// The libpng objects, released by the destructor (a member, so that it also runs when the
// decoder's constructor throws).
struct PngHandle {
  png_structp png = nullptr;
  png_infop info = nullptr;
  PngHandle() = default;
  PngHandle(const PngHandle&) = delete;
  PngHandle& operator=(const PngHandle&) = delete;
  ~PngHandle() {
    if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
  }
};

class PngDecoder {
 public:
  // Reads the chunks up to the image data; nothing is decoded yet.
  PngDecoder(const std::string& bytes, const std::string& path) : path_(path) {
    source_.bytes = &bytes;
    run([&] {
      png_ = png_create_read_struct(PNG_LIBPNG_VER_STRING, &target_, png_error_callback, png_warning_callback);
    });
    if (png_ == nullptr) fail(path_, "libpng: cannot create a reader");
    run([&] { info_ = png_create_info_struct(png_); });
    if (info_ == nullptr) fail(path_, "libpng: cannot create a reader");
    run([&] {
      png_set_read_fn(png_, &source_, png_read_callback);
      png_read_info(png_, info_);
    });
    check_pixel_count(width(), height(), path_);
  }

  int64_t width() const { return png_get_image_width(png_, info_); }
  int64_t height() const { return png_get_image_height(png_, info_); }

  // 8 bits per sample, one byte per palette index, alpha and tRNS left alone (the rows are
  // converted to RGB by `append_png_row`); all the interlace passes combined.
  void start() {
    run([&] {
      const int depth = png_get_bit_depth(png_, info_);
      const int color = png_get_color_type(png_, info_);
      palette_ = color == PNG_COLOR_TYPE_PALETTE;
      if (depth == 16) png_set_strip_16(png_);  // the high byte, as PIL's ";16B" unpackers
      if (depth < 8 && palette_) png_set_packing(png_);
      if (depth < 8 && !palette_) png_set_expand_gray_1_2_4_to_8(png_);  // 1 -> 255, 2 -> 85, 4 -> 17 per step
      passes_ = png_set_interlace_handling(png_);
      png_read_update_info(png_, info_);
      channels_ = png_get_channels(png_, info_);
      rowbytes_ = png_get_rowbytes(png_, info_);
    });
    DNAS_ASSERT(channels_ >= 1 && channels_ <= 4 && rowbytes_ == static_cast<size_t>(width()) * channels_,
                "libpng gave ", channels_, " channels and ", rowbytes_, " bytes a row");
    if (palette_) load_palette();
  }
  bool interlaced() const { return passes_ > 1; }
  size_t rowbytes() const { return rowbytes_; }

  // The next row (of a non-interlaced image).
  void read_row(std::vector<uint8_t>& row) {
    row.resize(rowbytes_);
    run([&] { png_read_row(png_, row.data(), nullptr); });
  }
  // The whole image, rowbytes() a row (interlaced images have no other way).
  void read_all(std::vector<uint8_t>& pixels) {
    pixels.resize(rowbytes_ * static_cast<size_t>(height()));
    std::vector<png_bytep> rows(static_cast<size_t>(height()));
    for (size_t y = 0; y < rows.size(); ++y) rows[y] = pixels.data() + y * rowbytes_;
    run([&] { png_read_image(png_, rows.data()); });
  }
  // After the last row: reads the chunks up to IEND, so that a truncated file counts.
  void finish() {
    run([&] { png_read_end(png_, nullptr); });
  }

  // Columns [x, x + width) of a row as RGB: gray replicated, alpha dropped, palette indexes looked
  // up in PIL's palette (the file's PLTE, then PIL's gray ramp for indexes past its end).
  void append_row(const uint8_t* row, const PixelRect& r, std::vector<uint8_t>& image) const {
    const size_t start = image.size();
    image.resize(start + static_cast<size_t>(r.width) * 3);
    uint8_t* out = image.data() + start;
    const uint8_t* in = row + r.x * channels_;
    for (int64_t i = 0; i < r.width; ++i, in += channels_, out += 3) {
      if (palette_) {
        std::memcpy(out, palette_rgb_[in[0]].data(), 3);
      } else if (channels_ <= 2) {
        out[0] = out[1] = out[2] = in[0];
      } else {
        std::memcpy(out, in, 3);
      }
    }
  }

 private:
  template <typename Call>
  void run(const Call& call) {
    if (!guarded(target_, call)) fail(path_, target_.message);
  }

  void load_palette() {
    for (int i = 0; i < 256; ++i) palette_rgb_[i] = {uint8_t(i), uint8_t(i), uint8_t(i)};
    png_colorp colors = nullptr;
    int count = 0;
    if (png_get_PLTE(png_, info_, &colors, &count) == 0) fail(path_, "libpng: palette image without a palette");
    for (int i = 0; i < std::min(count, 256); ++i)
      palette_rgb_[i] = {colors[i].red, colors[i].green, colors[i].blue};
  }

  std::string path_;
  JumpTarget target_;
  PngSource source_;
  PngHandle handle_;
  png_structp& png_ = handle_.png;
  png_infop& info_ = handle_.info;
  bool palette_ = false;
  int passes_ = 1;
  int channels_ = 0;
  size_t rowbytes_ = 0;
  std::array<std::array<uint8_t, 3>, 256> palette_rgb_{};
};

RgbImage decode_png(const std::string& bytes, const std::string& path, const PixelRect* region) {
  PngDecoder decoder(bytes, path);
  const PixelRect all{0, 0, decoder.width(), decoder.height()};
  if (region != nullptr) check_region(*region, all, 1, path);
  const PixelRect r = region != nullptr ? *region : all;
  decoder.start();
  RgbImage image = reserved_image(r);
  if (decoder.interlaced()) {
    std::vector<uint8_t> pixels;
    decoder.read_all(pixels);
    for (int64_t y = r.y; y < r.y + r.height; ++y)
      decoder.append_row(pixels.data() + static_cast<size_t>(y) * decoder.rowbytes(), r, image.pixels);
  } else {
    std::vector<uint8_t> row;
    for (int64_t y = 0; y < r.y + r.height; ++y) {
      decoder.read_row(row);
      if (y >= r.y) decoder.append_row(row.data(), r, image.pixels);
    }
  }
  if (r.y + r.height == all.height) decoder.finish();  // as for JPEG
  return image;
}

// ---------------------------------------------------------------------------------------------

ImageFormat checked_format(const std::string& bytes, const std::string& path) {
  if (bytes.empty()) fail(path, "empty file");
  const ImageFormat format = sniff_image_format(bytes);
  if (format == ImageFormat::unknown) fail(path, "neither JPEG nor PNG");
  return format;
}

}  // namespace

ImageFormat sniff_image_format(const std::string& bytes) {
  static constexpr unsigned char kJpeg[] = {0xFF, 0xD8, 0xFF};
  static constexpr unsigned char kPng[] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A};
  if (bytes.size() >= sizeof kJpeg && std::memcmp(bytes.data(), kJpeg, sizeof kJpeg) == 0) return ImageFormat::jpeg;
  if (bytes.size() >= sizeof kPng && std::memcmp(bytes.data(), kPng, sizeof kPng) == 0) return ImageFormat::png;
  return ImageFormat::unknown;
}

ImageInfo read_image_info(const std::string& bytes, const std::string& path) {
  ImageInfo info;
  info.format = checked_format(bytes, path);
  if (info.format == ImageFormat::jpeg) {
    const JpegDecoder decoder(bytes, path);
    info.width = decoder.width(), info.height = decoder.height();
  } else {
    const PngDecoder decoder(bytes, path);
    info.width = decoder.width(), info.height = decoder.height();
  }
  return info;
}

RgbImage decode_image(const std::string& bytes, const std::string& path) {
  return checked_format(bytes, path) == ImageFormat::jpeg ? decode_jpeg(bytes, path, nullptr, 1)
                                                           : decode_png(bytes, path, nullptr);
}

RgbImage decode_image_region(const std::string& bytes, const std::string& path, const PixelRect& region,
                             int scale_denominator) {
  const int d = scale_denominator;
  DNAS_CHECK(d == 1 || d == 2 || d == 4 || d == 8, path, ": cannot decode image (scale 1/", d,
             ": the scale denominator must be 1, 2, 4 or 8)");
  const ImageFormat format = checked_format(bytes, path);
  DNAS_CHECK(format == ImageFormat::jpeg || d == 1, path, ": cannot decode image (scale 1/", d,
             ": a PNG decodes only at full size)");
  return format == ImageFormat::jpeg ? decode_jpeg(bytes, path, &region, d) : decode_png(bytes, path, &region);
}

}  // namespace dnas

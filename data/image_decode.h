// Decoding one image file's bytes to 8-bit RGB, torch-free (the fuzz targets reach it).
//
// The format comes from the bytes, never the name: ImageNet holds PNGs saved as .JPEG. JPEGs go
// through libjpeg-turbo with the settings PIL uses (ISLOW IDCT, fancy upsampling), so a full
// decode is pixel-identical to PIL's Image.open(f).convert("RGB"); PNGs through libpng (16-bit
// reduced to 8 by keeping the high byte, palettes expanded, alpha and tRNS dropped, as PIL's
// convert("RGB") does). One deliberate difference: PIL turns a 16-bit grayscale PNG into a 32-bit
// "I" image whose convert("RGB") clips at 255 (nearly all white); dnas keeps the high byte there too.
// Grayscale is replicated to three channels; CMYK / YCCK JPEGs (Adobe, inverted) are converted
// as PIL converts CMYK to RGB.
//
// Partial decode: `decode_image_region` returns only the rows and columns of a region, skipping
// the rest with jpeg_skip_scanlines / jpeg_crop_scanline where the format allows; the pixels it
// returns equal the same region cut from a full decode. With `scale_denominator` 2, 4 or 8 a JPEG
// is decoded at 1/d of its size in the DCT domain (much cheaper; not identical to a full decode
// followed by resizing: see image_transforms.h for when the loader uses it).
//
// Every failure (unknown format, corrupt or truncated data, a warning from libjpeg such as a
// premature end of data, an image larger than kMaxImagePixels) throws dnas::Error
// "<path>: cannot decode image (<reason>)". Nothing aborts, exits or prints. (libjpeg's warning
// about junk bytes between markers is the one tolerated: it changes no pixel and PIL accepts it.)
// A decode that reaches the last row also reads the rest of the file (to JPEG's end marker, PNG's
// IEND); a region above the last row is decoded without reading below it, so damage there goes
// unnoticed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dnas {

enum class ImageFormat { unknown, jpeg, png };
ImageFormat sniff_image_format(const std::string& bytes);

// Larger images are refused before a pixel buffer is allocated (a hostile header cannot make
// dnas allocate gigabytes): 2^28 pixels, 16384 x 16384.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 28;

struct ImageInfo {
  ImageFormat format = ImageFormat::unknown;
  int64_t width = 0, height = 0;  // of the stored image, before any scaling
};
// The header only (no pixels decoded).
ImageInfo read_image_info(const std::string& bytes, const std::string& path);

// An interleaved RGB image (row-major, 3 bytes per pixel).
struct RgbImage {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> pixels;  // height * width * 3
  const uint8_t* row(int64_t y) const { return pixels.data() + y * width * 3; }
};

// A rectangle of an image in pixels: columns [x, x + width), rows [y, y + height).
struct PixelRect {
  int64_t x = 0, y = 0, width = 0, height = 0;
};

// The whole image.
RgbImage decode_image(const std::string& bytes, const std::string& path);

// `region` (in the coordinates of the image decoded at 1/scale_denominator, which must lie within
// it: PixelRect{0, 0, ceil(w / d), ceil(h / d)} is all of it) of the image decoded at
// 1/scale_denominator (1, 2, 4 or 8; PNGs accept only 1). The scaled size is libjpeg's:
// ceil(width / d) x ceil(height / d).
RgbImage decode_image_region(const std::string& bytes, const std::string& path, const PixelRect& region,
                             int scale_denominator = 1);

}  // namespace dnas

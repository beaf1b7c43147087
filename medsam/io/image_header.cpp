#include "medsam/io/image_header.h"

#include <cstring>

namespace medsam::io {
namespace {

// Bounds-checked reads of the header bytes; every reader below asks has() before reading.
// (Named apart from image_none.cpp's and zip.cpp's helpers: a unity build compiles them in one unit.)
struct HeaderBytes {
  const std::uint8_t* p;
  std::size_t size;
  bool has(std::size_t pos, std::size_t n) const { return pos <= size && n <= size - pos; }
  std::uint32_t u16(std::size_t pos, bool big) const {
    return big ? (p[pos] << 8) | p[pos + 1] : p[pos] | (p[pos + 1] << 8);
  }
  std::uint32_t u32(std::size_t pos, bool big) const {
    return big ? (u16(pos, true) << 16) | u16(pos + 2, true) : u16(pos, false) | (u16(pos + 2, false) << 16);
  }
  bool starts_with(const char* magic, std::size_t n) const { return has(0, n) && std::memcmp(p, magic, n) == 0; }
};

std::optional<ImageDims> positive(int64_t width, int64_t height) {
  if (width <= 0 || height <= 0) return std::nullopt;
  return ImageDims{width, height};
}

// The signature, then IHDR, which must be the first chunk: width and height as big-endian uint32.
std::optional<ImageDims> png_dims(const HeaderBytes& b) {
  if (!b.has(8, 16) || std::memcmp(b.p + 12, "IHDR", 4) != 0) return std::nullopt;
  return positive(b.u32(16, true), b.u32(20, true));
}

// Segments from SOI on until the first frame header (SOF0..SOF15 but DHT C4, JPG C8, DAC CC): its
// height and width follow the length and the sample precision. Between segments, libjpeg skips stray
// bytes and 0xFF fill bytes to the next marker, and so do we, so that padding cannot hide the frame.
std::optional<ImageDims> jpeg_dims(const HeaderBytes& b) {
  std::size_t pos = 2;  // after FF D8
  while (true) {
    while (b.has(pos, 1) && b.p[pos] != 0xFF) ++pos;
    while (b.has(pos, 1) && b.p[pos] == 0xFF) ++pos;
    if (!b.has(pos, 1)) return std::nullopt;
    const std::uint8_t marker = b.p[pos++];
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (marker == 0xD8 || marker == 0xD9 || marker == 0xDA) return std::nullopt;  // SOI, EOI, SOS: no frame first
    if (!b.has(pos, 2)) return std::nullopt;
    const std::uint32_t length = b.u16(pos, true);  // counts itself, not the marker
    if (length < 2) return std::nullopt;
    const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame) {
      if (length < 8 || !b.has(pos, 7)) return std::nullopt;
      // Height 0 means a DNL marker after the first scan gives it: not something to trust here.
      return positive(b.u16(pos + 5, true), b.u16(pos + 3, true));
    }
    pos += length;
  }
}

// BITMAPFILEHEADER (14 bytes), then the DIB header: its size says which. OS/2's 12-byte core header
// holds uint16 sizes; the others (40 bytes and up; OpenCV takes 36) int32, a negative height meaning
// top-down rows.
std::optional<ImageDims> bmp_dims(const HeaderBytes& b) {
  if (!b.has(14, 4)) return std::nullopt;
  const std::uint32_t dib_size = b.u32(14, false);
  if (dib_size == 12) {
    if (!b.has(18, 4)) return std::nullopt;
    return positive(b.u16(18, false), b.u16(20, false));
  }
  if (dib_size < 36 || !b.has(18, 8)) return std::nullopt;
  const auto width = static_cast<std::int32_t>(b.u32(18, false));
  const auto height = static_cast<std::int32_t>(b.u32(22, false));
  return positive(width, height < 0 ? -int64_t(height) : int64_t(height));
}

// Byte order, 42, the first IFD's offset; the IFD: an entry count, then 12-byte entries (tag, type,
// count, value or offset). A single ImageWidth/ImageLength value sits in the entry itself, left-justified.
std::optional<ImageDims> tiff_dims(const HeaderBytes& b, bool big) {
  if (!b.has(4, 4)) return std::nullopt;
  const std::size_t ifd = b.u32(4, big);
  if (!b.has(ifd, 2)) return std::nullopt;
  const std::size_t entries = b.u16(ifd, big);
  int64_t width = -1, height = -1;
  for (std::size_t i = 0; i < entries; ++i) {
    const std::size_t e = ifd + 2 + 12 * i;
    if (!b.has(e, 12)) return std::nullopt;
    const std::uint32_t tag = b.u16(e, big), type = b.u16(e + 2, big), count = b.u32(e + 4, big);
    if (tag != 256 && tag != 257) continue;
    if (count < 1) return std::nullopt;
    int64_t value;
    switch (type) {
      case 1: value = b.p[e + 8]; break;                                            // BYTE
      case 3: value = b.u16(e + 8, big); break;                                     // SHORT
      case 4: value = b.u32(e + 8, big); break;                                     // LONG
      case 8: value = static_cast<std::int16_t>(b.u16(e + 8, big)); break;          // SSHORT
      case 9: value = static_cast<std::int32_t>(b.u32(e + 8, big)); break;          // SLONG
      default: return std::nullopt;
    }
    // libtiff keeps the first of duplicated tags.
    int64_t& slot = tag == 256 ? width : height;
    if (slot < 0) slot = value;
    if (width >= 0 && height >= 0) return positive(width, height);
  }
  return std::nullopt;
}

}  // namespace

std::optional<ImageDims> read_image_dims(const std::uint8_t* data, std::size_t size) {
  const HeaderBytes b{data, data ? size : 0};
  if (b.starts_with("\x89PNG\r\n\x1a\n", 8)) return png_dims(b);
  if (b.starts_with("\xFF\xD8", 2)) return jpeg_dims(b);
  if (b.starts_with("BM", 2)) return bmp_dims(b);
  if (b.starts_with("II*\0", 4)) return tiff_dims(b, false);
  if (b.starts_with("MM\0*", 4)) return tiff_dims(b, true);
  return std::nullopt;
}

}  // namespace medsam::io

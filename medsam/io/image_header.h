// An image file's width and height read from its header bytes, without decoding the pixels: a few
// kilobytes of PNG can declare 20000 x 20000 pixels, and a decoder allocates them all before it finds
// out whether the data is there. `medsam serve` checks its pixel limit with this first.
// Pure byte parsing, no OpenCV. ref: PNG spec (ISO/IEC 15948) 11.2.2 IHDR; JPEG (ITU-T T.81) B.1.1,
// B.2.2 frame header; BMP BITMAPFILEHEADER + BITMAPCOREHEADER/BITMAPINFOHEADER; TIFF 6.0 section 2
// (image file header, IFD, tags 256 ImageWidth and 257 ImageLength).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace medsam::io {

struct ImageDims {
  int64_t width = 0, height = 0;
};

// PNG, JPEG, BMP, or the first image of a TIFF. nullopt when the bytes are none of these, or their
// header is truncated or malformed: the decoder then decides (and the caller checks what it decodes).
std::optional<ImageDims> read_image_dims(const std::uint8_t* data, std::size_t size);

}  // namespace medsam::io

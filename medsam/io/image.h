// 2D images in and out (PNG, JPEG, BMP, TIFF; 8- or 16-bit; grey, RGB, RGBA) as H×W×C tensors.
// Backed by OpenCV (image_opencv.cpp); this header stays free of OpenCV so the core builds without it.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace medsam::io {

// Reads an image file as an H×W×C tensor, C in {1, 3, 4}, channels in RGB(A) order. 8-bit files come
// back as uint8; 16-bit files as int32 holding 0..65535 (LibTorch 1.13 has no uint16 dtype); float
// TIFFs as float32. Throws Error naming the file if unreadable.
at::Tensor read_image(const std::string& path);

// Writes an H×W or H×W×C (C in {1, 3, 4}, RGB(A) order) tensor: uint8 as 8-bit, integer tensors
// (values 0..65535) as 16-bit; the format follows the extension (.png/.tif keep 16 bits, .jpg/.bmp
// need uint8). Throws Error naming the file on failure.
void write_image(const std::string& path, const at::Tensor& image);

// Encodes to PNG in memory. `compression` is zlib's level 0..9 (PNG is lossless at every level; 1-3 is
// ~3x faster than 9 for a few % more bytes).
std::vector<std::uint8_t> encode_png(const at::Tensor& image, int compression = 3);

// Decodes PNG/JPEG/... bytes as read_image does. `what` names the source in error messages.
at::Tensor decode_image(const std::uint8_t* data, std::size_t size, const std::string& what = "image bytes");

// True for names 2D image reading recognises by extension (.png, .jpg, .jpeg, .bmp, .tif, .tiff;
// any case) — used to route files between read_image and read_volume (io/volume.h).
bool looks_like_image_file(const std::string& path);

// True when this build can read and write 2D images (built with OpenCV).
bool image_io_available();

}  // namespace medsam::io

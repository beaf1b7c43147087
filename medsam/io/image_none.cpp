// 2D image I/O when the build has no OpenCV. PNG (the shard format and the fixtures' format) is
// still read and written, with a small zlib-backed codec, so shards, `medsam prep` output and PNG
// masks work on machines with only LibTorch; every other format (JPEG, BMP, TIFF) says how to get it.
#include "medsam/core/build_config.h"

#if !MEDSAM_HAVE_OPENCV
#include <fmt/format.h>
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "medsam/core/error.h"
#include "medsam/io/atomic_file.h"
#include "medsam/io/image.h"

namespace medsam::io {
namespace {

[[noreturn]] void no_opencv(const std::string& what) {
  throw Error(what + ": only PNG is supported in this medsam, which was built without OpenCV "
                     "(configure with -DMEDSAM_WITH_OPENCV=ON for JPEG, BMP and TIFF)");
}

constexpr std::uint8_t kSignature[8] = {137, 80, 78, 71, 13, 10, 26, 10};

bool is_png_name(const std::string& path) {
  std::string p = path;
  std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return std::tolower(c); });
  return p.size() >= 4 && p.compare(p.size() - 4, 4, ".png") == 0;
}

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(std::uint8_t(v >> s));
}

void put_chunk(std::vector<std::uint8_t>& out, const char* type, const std::uint8_t* data, std::size_t n) {
  put32(out, std::uint32_t(n));
  const std::size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  if (n) out.insert(out.end(), data, data + n);
  put32(out, std::uint32_t(::crc32(0, out.data() + start, uInt(n + 4))));
}

int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

// Undoes the per-row filters in place; `raw` holds rows of (1 filter byte + stride bytes).
void unfilter(std::vector<std::uint8_t>& raw, std::size_t rows, std::size_t stride, std::size_t bpp,
              const std::string& what) {
  std::uint8_t* prev = nullptr;
  for (std::size_t y = 0; y < rows; ++y) {
    std::uint8_t* row = raw.data() + y * (stride + 1);
    const int f = row[0];
    std::uint8_t* cur = row + 1;
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0, c = (prev && i >= bpp) ? prev[i - bpp] : 0;
      switch (f) {
        case 0: break;
        case 1: cur[i] = std::uint8_t(cur[i] + a); break;
        case 2: cur[i] = std::uint8_t(cur[i] + b); break;
        case 3: cur[i] = std::uint8_t(cur[i] + ((a + b) >> 1)); break;
        case 4: cur[i] = std::uint8_t(cur[i] + paeth(a, b, c)); break;
        default: throw Error(fmt::format("{}: cannot decode PNG (bad row filter {})", what, f));
      }
    }
    prev = cur;
  }
}

at::Tensor decode_png(const std::uint8_t* data, std::size_t size, const std::string& what) {
  if (size < 8 || std::memcmp(data, kSignature, 8) != 0) no_opencv(what + " (not a PNG)");
  std::size_t pos = 8;
  std::uint32_t width = 0, height = 0;
  int depth = 0, color = -1, interlace = 0;
  std::vector<std::uint8_t> idat, palette, trns;
  bool ended = false;
  while (!ended) {
    if (pos + 12 > size) throw Error(fmt::format("{}: cannot decode PNG (truncated)", what));
    const std::uint32_t n = be32(data + pos);
    if (n > size - pos - 12) throw Error(fmt::format("{}: cannot decode PNG (truncated chunk)", what));
    const std::string type(reinterpret_cast<const char*>(data + pos + 4), 4);
    const std::uint8_t* body = data + pos + 8;
    if (std::uint32_t(::crc32(0, data + pos + 4, uInt(n + 4))) != be32(body + n))
      throw Error(fmt::format("{}: cannot decode PNG (CRC mismatch in {} chunk)", what, type));
    if (type == "IHDR") {
      if (n < 13) throw Error(fmt::format("{}: cannot decode PNG (short IHDR)", what));
      width = be32(body);
      height = be32(body + 4);
      depth = body[8];
      color = body[9];
      interlace = body[12];
    } else if (type == "PLTE") {
      palette.assign(body, body + n);
    } else if (type == "tRNS") {
      trns.assign(body, body + n);
    } else if (type == "IDAT") {
      idat.insert(idat.end(), body, body + n);
    } else if (type == "IEND") {
      ended = true;
    }
    pos += 12 + std::size_t(n);
  }
  if (width == 0 || height == 0 || width > (1u << 24) || height > (1u << 24))
    throw Error(fmt::format("{}: cannot decode PNG (bad size {}x{})", what, width, height));
  if (interlace != 0) no_opencv(what + " (interlaced PNG)");
  int samples;
  switch (color) {
    case 0: samples = 1; break;
    case 2: samples = 3; break;
    case 3: samples = 1; break;
    case 4: samples = 2; break;
    case 6: samples = 4; break;
    default: throw Error(fmt::format("{}: cannot decode PNG (colour type {})", what, color));
  }
  const bool ok_depth = (depth == 8) || (depth == 16 && color != 3) ||
                        ((depth == 1 || depth == 2 || depth == 4) && (color == 0 || color == 3));
  if (!ok_depth) throw Error(fmt::format("{}: cannot decode PNG (bit depth {} with colour type {})", what, depth, color));
  const std::size_t bits_per_px = std::size_t(samples) * depth;
  const std::size_t stride = (std::size_t(width) * bits_per_px + 7) / 8;
  const std::size_t bpp = std::max<std::size_t>(1, bits_per_px / 8);
  std::vector<std::uint8_t> raw(std::size_t(height) * (stride + 1));
  uLongf raw_len = uLongf(raw.size());
  if (::uncompress(raw.data(), &raw_len, idat.data(), uLong(idat.size())) != Z_OK || raw_len != raw.size())
    throw Error(fmt::format("{}: cannot decode PNG (corrupt image data)", what));
  unfilter(raw, height, stride, bpp, what);

  const int64_t H = height, W = width;
  auto sample = [&](const std::uint8_t* row, int64_t x, int s) -> int {  // sample s of pixel x
    if (depth == 16) return (row[(x * samples + s) * 2] << 8) | row[(x * samples + s) * 2 + 1];
    if (depth == 8) return row[x * samples + s];
    const int per_byte = 8 / depth;
    const int shift = 8 - depth * (int(x % per_byte) + 1);
    return (row[x / per_byte] >> shift) & ((1 << depth) - 1);
  };
  if (color == 3) {
    if (palette.size() < 3) throw Error(fmt::format("{}: cannot decode PNG (palette missing)", what));
    const int64_t C = trns.empty() ? 3 : 4;
    auto out = torch::empty({H, W, C}, torch::kByte);
    auto* o = out.data_ptr<std::uint8_t>();
    const std::size_t entries = palette.size() / 3;
    for (int64_t y = 0; y < H; ++y) {
      const std::uint8_t* row = raw.data() + y * (stride + 1) + 1;
      for (int64_t x = 0; x < W; ++x, o += C) {
        const std::size_t i = std::size_t(sample(row, x, 0));
        if (i >= entries) throw Error(fmt::format("{}: cannot decode PNG (palette index out of range)", what));
        for (int c = 0; c < 3; ++c) o[c] = palette[i * 3 + c];
        if (C == 4) o[3] = i < trns.size() ? trns[i] : 255;
      }
    }
    return out;
  }
  // Grey+alpha comes back as RGBA, as OpenCV's IMREAD_UNCHANGED gives it.
  const int64_t C = color == 4 ? 4 : samples;
  auto out = torch::empty({H, W, C}, depth == 16 ? torch::kInt : torch::kByte);
  const int scale = depth == 1 ? 255 : depth == 2 ? 85 : depth == 4 ? 17 : 1;
  for (int64_t y = 0; y < H; ++y) {
    const std::uint8_t* row = raw.data() + y * (stride + 1) + 1;
    for (int64_t x = 0; x < W; ++x) {
      int px[4];
      if (color == 4) {
        px[0] = px[1] = px[2] = sample(row, x, 0);
        px[3] = sample(row, x, 1);
      } else {
        for (int c = 0; c < C; ++c) px[c] = sample(row, x, c) * scale;
      }
      const int64_t at = (y * W + x) * C;
      if (depth == 16) {
        auto* o = out.data_ptr<int32_t>();
        for (int c = 0; c < C; ++c) o[at + c] = px[c];
      } else {
        auto* o = out.data_ptr<std::uint8_t>();
        for (int c = 0; c < C; ++c) o[at + c] = std::uint8_t(px[c]);
      }
    }
  }
  return out;
}

std::vector<std::uint8_t> png_bytes(const at::Tensor& image, int compression, const std::string& what) {
  auto t = image.cpu().contiguous();
  if (t.dim() == 2) t = t.unsqueeze(2);
  if (t.dim() != 3) throw Error(fmt::format("{}: image tensor must be H×W or H×W×C, got {} dims", what, t.dim()));
  const int64_t H = t.size(0), W = t.size(1), C = t.size(2);
  if (C != 1 && C != 3 && C != 4) throw Error(fmt::format("{}: {} channels (expected 1, 3 or 4)", what, C));
  if (H <= 0 || W <= 0) throw Error(fmt::format("{}: empty image", what));
  int depth;
  if (t.scalar_type() == at::kByte) {
    depth = 8;
  } else if (t.scalar_type() == at::kInt || t.scalar_type() == at::kShort || t.scalar_type() == at::kLong) {
    const auto lo = t.min().item<int64_t>(), hi = t.max().item<int64_t>();
    if (lo < 0 || hi > 65535)
      throw Error(fmt::format("{}: 16-bit image values must be 0..65535, got {}..{}", what, lo, hi));
    t = t.to(at::kInt).contiguous();
    depth = 16;
  } else {
    throw Error(fmt::format("{}: image dtype {} cannot be written (use uint8 or 16-bit integers)", what,
                            c10::toString(t.scalar_type())));
  }
  const std::size_t stride = std::size_t(W * C * (depth / 8));
  std::vector<std::uint8_t> raw(std::size_t(H) * (stride + 1));
  for (int64_t y = 0; y < H; ++y) {
    std::uint8_t* row = raw.data() + y * (stride + 1);
    row[0] = 0;  // filter: none
    if (depth == 8) {
      std::memcpy(row + 1, t.data_ptr<std::uint8_t>() + y * W * C, stride);
    } else {
      const int32_t* src = t.data_ptr<int32_t>() + y * W * C;
      for (int64_t i = 0; i < W * C; ++i) {
        row[1 + 2 * i] = std::uint8_t(src[i] >> 8);
        row[2 + 2 * i] = std::uint8_t(src[i] & 0xFF);
      }
    }
  }
  uLongf zlen = ::compressBound(uLong(raw.size()));
  std::vector<std::uint8_t> z(zlen);
  const int level = std::clamp(compression, 0, 9);
  if (::compress2(z.data(), &zlen, raw.data(), uLong(raw.size()), level) != Z_OK)
    throw Error(fmt::format("{}: zlib failed to compress the image", what));
  std::vector<std::uint8_t> out(kSignature, kSignature + 8);
  std::uint8_t ihdr[13];
  for (int s = 0; s < 4; ++s) ihdr[s] = std::uint8_t(std::uint32_t(W) >> (24 - 8 * s));
  for (int s = 0; s < 4; ++s) ihdr[4 + s] = std::uint8_t(std::uint32_t(H) >> (24 - 8 * s));
  ihdr[8] = std::uint8_t(depth);
  ihdr[9] = std::uint8_t(C == 1 ? 0 : C == 3 ? 2 : 6);
  ihdr[10] = ihdr[11] = ihdr[12] = 0;
  put_chunk(out, "IHDR", ihdr, 13);
  put_chunk(out, "IDAT", z.data(), zlen);
  put_chunk(out, "IEND", nullptr, 0);
  return out;
}

}  // namespace

at::Tensor read_image(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(fmt::format("{}: cannot read image (missing or unreadable)", path));
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return decode_png(bytes.data(), bytes.size(), path);
}

void write_image(const std::string& path, const at::Tensor& image) {
  if (!is_png_name(path)) no_opencv(path);
  const auto bytes = png_bytes(image, 3, path);
  write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
}

std::vector<std::uint8_t> encode_png(const at::Tensor& image, int compression) {
  return png_bytes(image, compression, "png encoder");
}

at::Tensor decode_image(const std::uint8_t* data, std::size_t size, const std::string& what) {
  return decode_png(data, size, what);
}

// Not every 2D format (JPEG, BMP, TIFF need OpenCV), so callers that need them can tell.
bool image_io_available() { return false; }
}  // namespace medsam::io
#endif

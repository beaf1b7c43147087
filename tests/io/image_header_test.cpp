// read_image_dims on files the encoders wrote (PNG, JPEG, BMP, TIFF), on headers written by hand for
// what the encoders do not write (big-endian TIFF, top-down BMP, padded JPEG), and on every truncation:
// a short header gives nullopt, never a wrong size.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "medsam/io/image.h"
#include "medsam/io/image_header.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"

using medsam::io::ImageDims;
using medsam::io::read_image_dims;

namespace {

using HeaderBytesV = std::vector<std::uint8_t>;

HeaderBytesV header_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return HeaderBytesV((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The image written in `ext`'s format, as bytes.
HeaderBytesV encoded(const at::Tensor& image, const std::string& ext) {
  const std::string path = medsam::test::temp_dir("image_header") + "/x" + ext;
  medsam::io::write_image(path, image);
  return header_file_bytes(path);
}

std::optional<ImageDims> dims_of(const HeaderBytesV& b, std::size_t n) { return read_image_dims(b.data(), n); }

// The full file gives width x height; every prefix gives nullopt or the same size.
void check_dims_and_prefixes(const HeaderBytesV& b, int64_t width, int64_t height) {
  const auto full = dims_of(b, b.size());
  REQUIRE(full);
  CHECK(full->width == width);
  CHECK(full->height == height);
  bool found_early = false;
  for (std::size_t n = 0; n < b.size(); ++n) {
    const auto d = dims_of(b, n);
    if (!d) continue;
    INFO("prefix of " << n << " bytes");
    CHECK(d->width == width);
    CHECK(d->height == height);
    found_early = true;
  }
  CHECK(found_early);  // the size is in the header, not at the end of the file
}

void put16(HeaderBytesV& b, std::size_t pos, std::uint32_t v, bool big) {
  b[pos + (big ? 0 : 1)] = std::uint8_t(v >> 8);
  b[pos + (big ? 1 : 0)] = std::uint8_t(v);
}

void put32(HeaderBytesV& b, std::size_t pos, std::uint32_t v, bool big) {
  put16(b, pos + (big ? 0 : 2), v >> 16, big);
  put16(b, pos + (big ? 2 : 0), v & 0xFFFF, big);
}

}  // namespace

TEST_CASE("image dims: PNG headers give width and height, a truncated one nothing", "[io][image]") {
  for (const auto& [w, h, c] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {23, 17, 3}, {300, 2, 4}, {2, 300, 1}}) {
    INFO(w << "x" << h << "x" << c);
    const auto png = medsam::io::encode_png(torch::zeros({h, w, c}, torch::kByte));
    check_dims_and_prefixes(png, w, h);
    CHECK_FALSE(dims_of(png, 23));  // IHDR's height ends at byte 24
  }
  const auto png16 = medsam::io::encode_png(torch::full({5, 700, 1}, 40000, torch::kInt));
  check_dims_and_prefixes(png16, 700, 5);
  // IHDR must be the first chunk: anything else is for the decoder to refuse.
  auto renamed = medsam::io::encode_png(torch::zeros({4, 4, 1}, torch::kByte));
  renamed[12] = 'i';
  CHECK_FALSE(dims_of(renamed, renamed.size()));
}

TEST_CASE("image dims: JPEG, BMP and TIFF files as OpenCV writes them", "[io][image]") {
  MEDSAM_NEEDS_OPENCV("JPEG, BMP and TIFF encoders");
  for (const auto& [w, h] : std::vector<std::array<int64_t, 2>>{{1, 1}, {23, 17}, {300, 2}, {2, 300}}) {
    INFO(w << "x" << h);
    check_dims_and_prefixes(encoded(torch::zeros({h, w, 3}, torch::kByte), ".jpg"), w, h);
    check_dims_and_prefixes(encoded(torch::zeros({h, w, 1}, torch::kByte), ".jpg"), w, h);
    check_dims_and_prefixes(encoded(torch::zeros({h, w, 3}, torch::kByte), ".bmp"), w, h);
    check_dims_and_prefixes(encoded(torch::zeros({h, w, 1}, torch::kByte), ".bmp"), w, h);
    check_dims_and_prefixes(encoded(torch::zeros({h, w, 4}, torch::kByte), ".tif"), w, h);
    check_dims_and_prefixes(encoded(torch::full({h, w, 1}, 40000, torch::kInt), ".tif"), w, h);
  }
}

TEST_CASE("image dims: a JPEG's frame header is found past padding and not inside another segment", "[io][image]") {
  MEDSAM_NEEDS_OPENCV("the JPEG encoder and decoder");
  const auto jpeg = encoded(torch::zeros({31, 45, 3}, torch::kByte), ".jpg");
  REQUIRE(jpeg.size() > 4);
  // After SOI: an APP15 segment whose payload looks like a frame header of 39321 x 39321, then stray
  // bytes and fill bytes before the encoder's own segments. libjpeg skips both (with a warning), so a
  // reader that did not would either be fooled or give up and leave the decoder to allocate.
  HeaderBytesV padded(jpeg.begin(), jpeg.begin() + 2);
  const HeaderBytesV app15{0xFF, 0xEF, 0x00, 0x0D, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x99, 0x99, 0x99, 0x99, 0x03, 0x01};
  const HeaderBytesV junk{0x00, 0x42, 0xFF, 0xFF};
  padded.insert(padded.end(), app15.begin(), app15.end());
  padded.insert(padded.end(), junk.begin(), junk.end());
  padded.insert(padded.end(), jpeg.begin() + 2, jpeg.end());
  check_dims_and_prefixes(padded, 45, 31);
  // ... and the decoder agrees about the padded file.
  const at::Tensor decoded = medsam::io::decode_image(padded.data(), padded.size());
  CHECK(decoded.size(0) == 31);
  CHECK(decoded.size(1) == 45);
}

TEST_CASE("image dims: headers written by hand (big-endian TIFF, top-down and OS/2 BMP)", "[io][image]") {
  // TIFF, Motorola order: ImageWidth SHORT 300, ImageLength LONG 70000, one more tag between.
  HeaderBytesV tiff{'M', 'M', 0, 42};
  tiff.resize(8 + 2 + 3 * 12 + 4);
  put32(tiff, 4, 8, true);
  put16(tiff, 8, 3, true);
  const std::array<std::array<std::uint32_t, 3>, 3> entries{{{256, 3, 300}, {257, 4, 70000}, {258, 3, 8}}};
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::size_t e = 10 + 12 * i;
    put16(tiff, e, entries[i][0], true);
    put16(tiff, e + 2, entries[i][1], true);
    put32(tiff, e + 4, 1, true);
    if (entries[i][1] == 3) put16(tiff, e + 8, entries[i][2], true);  // SHORT: the entry's first 2 bytes
    else put32(tiff, e + 8, entries[i][2], true);
  }
  check_dims_and_prefixes(tiff, 300, 70000);
  CHECK_FALSE(dims_of(tiff, 10 + 12 + 11));  // the second entry cut short
  // The first IFD past the end of the file.
  HeaderBytesV far = tiff;
  put32(far, 4, 4000, true);
  CHECK_FALSE(dims_of(far, far.size()));

  // BMP, BITMAPINFOHEADER with a negative height (rows stored top-down).
  HeaderBytesV bmp(54, 0);
  bmp[0] = 'B';
  bmp[1] = 'M';
  put32(bmp, 14, 40, false);
  put32(bmp, 18, 640, false);
  put32(bmp, 22, std::uint32_t(-480), false);
  check_dims_and_prefixes(bmp, 640, 480);
  // OS/2 BITMAPCOREHEADER: 16-bit sizes.
  HeaderBytesV core(26, 0);
  core[0] = 'B';
  core[1] = 'M';
  put32(core, 14, 12, false);
  put16(core, 18, 1000, false);
  put16(core, 20, 7, false);
  check_dims_and_prefixes(core, 1000, 7);
}

TEST_CASE("image dims: other bytes give nothing", "[io][image]") {
  CHECK_FALSE(read_image_dims(nullptr, 0));
  const std::string text = "GIF89a, or any other bytes";
  CHECK_FALSE(read_image_dims(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  // A JPEG that reaches its scan without a frame header.
  const HeaderBytesV no_frame{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x00, 0x00};
  CHECK_FALSE(dims_of(no_frame, no_frame.size()));
}

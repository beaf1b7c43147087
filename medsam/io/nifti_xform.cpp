#include "medsam/io/nifti_xform.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "medsam/core/error.h"
#include "medsam/io/atomic_file.h"
#include "medsam/io/file_name.h"
#include "medsam/io/nifti_header_value.h"

namespace medsam::io {
namespace {

// NIfTI-1 header layout (nifti1.h), 348 bytes in all: sizeof_hdr int32 at 0, dim[8] int16 at 40,
// pixdim[8] float at 76, xyzt_units char at 123, qform_code int16 at 252, sform_code int16 at 254,
// quatern_b/c/d then qoffset_x/y/z floats at 256, srow_x/y/z (4 floats each) at 280, magic at 344
// ("n+1" for a single .nii file, "ni1" for a .hdr/.img pair).
constexpr size_t kHeaderSize = 348;
constexpr size_t kDimOffset = 40;
constexpr size_t kPixdimOffset = 76;
constexpr size_t kXyztUnitsOffset = 123;
constexpr size_t kQformOffset = 252;
constexpr size_t kSformOffset = 254;
constexpr size_t kQuaternOffset = 256;
constexpr size_t kSrowOffset = 280;
constexpr size_t kMagicOffset = 344;
constexpr int kMaxXformCode = 5;  // NIFTI_XFORM_TEMPLATE_OTHER, the highest code defined


// Host byte order: the staged file is checked to be in it (sizeof_hdr reads as 348), i.e. little-endian
// as ITK writes it on x86.
template <class T>
void put(unsigned char* header, size_t offset, T value) {
  std::memcpy(header + offset, &value, sizeof(T));
}

void check_code(const std::string& path, int code) {
  if (code < 0 || code > kMaxXformCode)
    throw Error(fmt::format("{}: NIfTI xform code {} is outside 0..{}", path, code, kMaxXformCode));
}

// Copies `staged` to `path` (gzip-compressed when `path` ends in .gz, atomically) after `patch` has
// changed its first 348 bytes, which must be a NIfTI-1 header in host (little-endian) byte order.
void copy_patched(const std::string& staged, const std::string& path,
                  const std::function<void(unsigned char* header)>& patch) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(staged.c_str(), "rb"), &std::fclose);
  if (!in) throw Error(fmt::format("{}: cannot open: {}", staged, std::strerror(errno)));
  std::vector<unsigned char> buf(1 << 20);
  size_t n = std::fread(buf.data(), 1, buf.size(), in.get());
  std::int32_t sizeof_hdr = 0;
  if (n >= kHeaderSize) std::memcpy(&sizeof_hdr, buf.data(), 4);
  if (n < kHeaderSize || sizeof_hdr != 348 || std::memcmp(buf.data() + kMagicOffset, "n+1", 4) != 0)
    throw Error(fmt::format("{}: not a little-endian single-file NIfTI-1 image", staged));
  patch(buf.data());

  write_atomically(path, [&](const std::string& tmp) {
    if (has_extension(path, {".gz"})) {
      gzFile out = gzopen(tmp.c_str(), "wb");
      if (!out) throw Error(fmt::format("{}: cannot create", tmp));
      bool ok = true;
      for (; n > 0 && ok; n = std::fread(buf.data(), 1, buf.size(), in.get()))
        ok = gzwrite(out, buf.data(), static_cast<unsigned>(n)) == static_cast<int>(n);
      if (gzclose(out) != Z_OK || !ok) throw Error(fmt::format("{}: gzip write failed", tmp));
    } else {
      std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(tmp.c_str(), "wb"), &std::fclose);
      if (!out) throw Error(fmt::format("{}: cannot create: {}", tmp, std::strerror(errno)));
      for (; n > 0; n = std::fread(buf.data(), 1, buf.size(), in.get()))
        if (std::fwrite(buf.data(), 1, n, out.get()) != n)
          throw Error(fmt::format("{}: write failed: {}", tmp, std::strerror(errno)));
      if (std::fclose(out.release()) != 0) throw Error(fmt::format("{}: cannot close: {}", tmp, std::strerror(errno)));
    }
    if (std::ferror(in.get())) throw Error(fmt::format("{}: read failed", staged));
  });
}

}  // namespace

std::optional<NiftiSpatial> read_nifti_spatial(const std::string& path) {
  if (!has_extension(path, {".nii", ".nii.gz"})) return std::nullopt;
  gzFile f = gzopen(path.c_str(), "rb");  // reads a plain .nii as it is
  if (!f) return std::nullopt;
  unsigned char h[kHeaderSize];
  const int n = gzread(f, h, static_cast<unsigned>(kHeaderSize));
  gzclose(f);
  if (n != static_cast<int>(kHeaderSize)) return std::nullopt;
  // The byte order is the one in which sizeof_hdr reads as 348 (NIfTI-2's 540 and anything else: none).
  bool swap = false;
  if (nifti_header_value<std::int32_t>(h, 0, false) != 348) {
    swap = true;
    if (nifti_header_value<std::int32_t>(h, 0, true) != 348) return std::nullopt;
  }
  if (std::memcmp(h + kMagicOffset, "n+1", 4) != 0 && std::memcmp(h + kMagicOffset, "ni1", 4) != 0)
    return std::nullopt;  // Analyze 7.5
  NiftiSpatial s;
  const int ndim = nifti_header_value<std::int16_t>(h, kDimOffset, swap);
  for (int i = 1; i <= 3; ++i)
    s.dim[i - 1] = i <= ndim ? nifti_header_value<std::int16_t>(h, kDimOffset + 2 * i, swap) : 1;
  for (int i = 0; i < 4; ++i) s.pixdim[i] = nifti_header_value<float>(h, kPixdimOffset + 4 * i, swap);
  s.xyzt_units = h[kXyztUnitsOffset];
  s.qform_code = nifti_header_value<std::int16_t>(h, kQformOffset, swap);
  s.sform_code = nifti_header_value<std::int16_t>(h, kSformOffset, swap);
  float* const quatern[6] = {&s.quatern_b, &s.quatern_c, &s.quatern_d, &s.qoffset_x, &s.qoffset_y, &s.qoffset_z};
  for (int i = 0; i < 6; ++i) *quatern[i] = nifti_header_value<float>(h, kQuaternOffset + 4 * i, swap);
  std::array<float, 4>* const srow[3] = {&s.srow_x, &s.srow_y, &s.srow_z};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) (*srow[r])[c] = nifti_header_value<float>(h, kSrowOffset + 16 * r + 4 * c, swap);
  return s;
}

void copy_nifti_with_spatial(const std::string& staged, const std::string& path, const NiftiSpatial& spatial) {
  check_code(path, spatial.qform_code);
  check_code(path, spatial.sform_code);
  copy_patched(staged, path, [&](unsigned char* h) {
    for (int i = 1; i <= 3; ++i) {
      const std::int64_t staged_dim = nifti_header_value<std::int16_t>(h, kDimOffset + 2 * i, false);
      if (staged_dim != spatial.dim[i - 1])
        throw Error(fmt::format("{}: dim[{}] is {}, the NIfTI header to copy has {}", staged, i, staged_dim,
                                spatial.dim[i - 1]));
    }
    for (int i = 0; i < 4; ++i) put<float>(h, kPixdimOffset + 4 * i, spatial.pixdim[i]);
    h[kXyztUnitsOffset] = spatial.xyzt_units;
    put<std::int16_t>(h, kQformOffset, spatial.qform_code);
    put<std::int16_t>(h, kSformOffset, spatial.sform_code);
    const float quatern[6] = {spatial.quatern_b, spatial.quatern_c, spatial.quatern_d,
                              spatial.qoffset_x, spatial.qoffset_y, spatial.qoffset_z};
    for (int i = 0; i < 6; ++i) put<float>(h, kQuaternOffset + 4 * i, quatern[i]);
    const std::array<float, 4>* const srow[3] = {&spatial.srow_x, &spatial.srow_y, &spatial.srow_z};
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c) put<float>(h, kSrowOffset + 16 * r + 4 * c, (*srow[r])[c]);
  });
}

void copy_nifti_with_xform_codes(const std::string& staged, const std::string& path, int qform_code,
                                 int sform_code) {
  check_code(path, qform_code);
  check_code(path, sform_code);
  copy_patched(staged, path, [&](unsigned char* h) {
    put<std::int16_t>(h, kQformOffset, static_cast<std::int16_t>(qform_code));
    put<std::int16_t>(h, kSformOffset, static_cast<std::int16_t>(sform_code));
  });
}

}  // namespace medsam::io

// Reads NIfTI-1 header fields straight from the file's bytes (zlib reads .nii and .nii.gz alike), so
// tests of the NIfTI writer do not check ITK with ITK; and writes small hand-made NIfTI-1 files.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace medsam::test {

struct NiftiXformCodes {
  int qform_code = -1;
  int sform_code = -1;
};


// The spatial fields of a NIfTI-1 header, as stored (byte order decoded).
struct NiftiFields {
  std::array<std::int16_t, 8> dim{};   // dim[0] = how many dimensions; int16 at 40
  std::array<float, 8> pixdim{};       // pixdim[0] = qfac; float at 76
  std::uint8_t xyzt_units = 0;         // at 123
  std::int16_t qform_code = 0;         // at 252
  std::int16_t sform_code = 0;         // at 254
  std::array<float, 3> quatern{};      // quatern_b/c/d at 256
  std::array<float, 3> qoffset{};      // qoffset_x/y/z at 268
  std::array<float, 4> srow_x{};       // at 280
  std::array<float, 4> srow_y{};       // at 296
  std::array<float, 4> srow_z{};       // at 312
  bool big_endian = false;             // the byte order of the file (read), or to write
};

namespace nifti_detail {
inline bool host_is_big_endian() {
  const std::uint16_t one = 1;
  unsigned char b[2];
  std::memcpy(b, &one, 2);
  return b[0] == 0;
}
template <class T>
T get(const unsigned char* h, std::size_t at, bool big_endian) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, h + at, sizeof(T));
  if (big_endian != host_is_big_endian()) std::reverse(b, b + sizeof(T));
  T v{};
  std::memcpy(&v, b, sizeof(T));
  return v;
}
template <class T>
void put(unsigned char* h, std::size_t at, T value, bool big_endian) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, &value, sizeof(T));
  if (big_endian != host_is_big_endian()) std::reverse(b, b + sizeof(T));
  std::memcpy(h + at, b, sizeof(T));
}
}  // namespace nifti_detail

// The spatial fields of the NIfTI-1 file `path` (.nii or .nii.gz), little- or big-endian.
inline NiftiFields read_nifti_fields(const std::string& path) {
  using nifti_detail::get;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error(path + ": cannot open");
  unsigned char h[348];
  const int n = gzread(f, h, sizeof h);
  gzclose(f);
  if (n != static_cast<int>(sizeof h)) throw std::runtime_error(path + ": shorter than a NIfTI-1 header");
  NiftiFields out;
  out.big_endian = nifti_detail::host_is_big_endian();
  if (get<std::int32_t>(h, 0, out.big_endian) != 348) out.big_endian = !out.big_endian;
  if (get<std::int32_t>(h, 0, out.big_endian) != 348 ||
      (std::memcmp(h + 344, "n+1", 4) != 0 && std::memcmp(h + 344, "ni1", 4) != 0))
    throw std::runtime_error(path + ": not a NIfTI-1 header");
  const bool be = out.big_endian;
  for (int i = 0; i < 8; ++i) out.dim[i] = get<std::int16_t>(h, 40 + 2 * i, be);
  for (int i = 0; i < 8; ++i) out.pixdim[i] = get<float>(h, 76 + 4 * i, be);
  out.xyzt_units = h[123];
  out.qform_code = get<std::int16_t>(h, 252, be);
  out.sform_code = get<std::int16_t>(h, 254, be);
  for (int i = 0; i < 3; ++i) out.quatern[i] = get<float>(h, 256 + 4 * i, be);
  for (int i = 0; i < 3; ++i) out.qoffset[i] = get<float>(h, 268 + 4 * i, be);
  for (int i = 0; i < 4; ++i) {
    out.srow_x[i] = get<float>(h, 280 + 4 * i, be);
    out.srow_y[i] = get<float>(h, 296 + 4 * i, be);
    out.srow_z[i] = get<float>(h, 312 + 4 * i, be);
  }
  return out;
}

// The qform_code and sform_code of a NIfTI-1 file in the host's (little-endian) byte order, as ITK
// writes it on x86.
inline NiftiXformCodes read_nifti_xform_codes(const std::string& path) {
  const NiftiFields f = read_nifti_fields(path);
  if (f.big_endian != nifti_detail::host_is_big_endian())
    throw std::runtime_error(path + ": not a little-endian NIfTI-1 header");
  return {f.qform_code, f.sform_code};
}

// A single-file NIfTI-1 image of uint8 voxels (x fastest; as many as dim[1] x .. x dim[dim[0]]) with the
// given spatial fields, in `fields.big_endian` byte order; gzip-compressed when `path` ends in .gz.
// Other header fields: datatype 2 (DT_UINT8), bitpix 8, vox_offset 352, scl_slope 0 (no scaling).
inline void write_nifti1_file(const std::string& path, const NiftiFields& fields,
                              const std::vector<std::uint8_t>& voxels) {
  using nifti_detail::put;
  const bool be = fields.big_endian;
  std::vector<unsigned char> bytes(352, 0);  // the header and 4 zero bytes: no extensions
  unsigned char* h = bytes.data();
  put<std::int32_t>(h, 0, 348, be);
  for (int i = 0; i < 8; ++i) put<std::int16_t>(h, 40 + 2 * i, fields.dim[i], be);
  put<std::int16_t>(h, 70, 2, be);  // DT_UNSIGNED_CHAR
  put<std::int16_t>(h, 72, 8, be);
  for (int i = 0; i < 8; ++i) put<float>(h, 76 + 4 * i, fields.pixdim[i], be);
  put<float>(h, 108, 352.0f, be);
  h[123] = fields.xyzt_units;
  put<std::int16_t>(h, 252, fields.qform_code, be);
  put<std::int16_t>(h, 254, fields.sform_code, be);
  for (int i = 0; i < 3; ++i) put<float>(h, 256 + 4 * i, fields.quatern[i], be);
  for (int i = 0; i < 3; ++i) put<float>(h, 268 + 4 * i, fields.qoffset[i], be);
  for (int i = 0; i < 4; ++i) {
    put<float>(h, 280 + 4 * i, fields.srow_x[i], be);
    put<float>(h, 296 + 4 * i, fields.srow_y[i], be);
    put<float>(h, 312 + 4 * i, fields.srow_z[i], be);
  }
  std::memcpy(h + 344, "n+1", 4);
  bytes.insert(bytes.end(), voxels.begin(), voxels.end());
  const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  gzFile f = gzopen(path.c_str(), gz ? "wb" : "wbT");  // "T": plain, no gzip
  if (!f) throw std::runtime_error(path + ": cannot create");
  const int n = gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  if (gzclose(f) != Z_OK || n != static_cast<int>(bytes.size())) throw std::runtime_error(path + ": write failed");
}

}  // namespace medsam::test

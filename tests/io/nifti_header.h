// Reads a NIfTI-1 file's qform_code and sform_code straight from its header bytes (zlib reads .nii and
// .nii.gz alike), so tests of the NIfTI writer do not check ITK with ITK.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace medsam::test {

struct NiftiXformCodes {
  int qform_code = -1;
  int sform_code = -1;
};

// NIfTI-1 header: 348 bytes, sizeof_hdr (int32 348) at 0, qform_code int16 at 252, sform_code int16
// at 254, magic "n+1"/"ni1" at 344. Little-endian files only (what ITK writes on x86).
inline NiftiXformCodes read_nifti_xform_codes(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error(path + ": cannot open");
  unsigned char h[348];
  const int n = gzread(f, h, sizeof h);
  gzclose(f);
  if (n != static_cast<int>(sizeof h)) throw std::runtime_error(path + ": shorter than a NIfTI-1 header");
  std::int32_t sizeof_hdr = 0;
  std::memcpy(&sizeof_hdr, h, 4);
  if (sizeof_hdr != 348 || (std::memcmp(h + 344, "n+1", 4) != 0 && std::memcmp(h + 344, "ni1", 4) != 0))
    throw std::runtime_error(path + ": not a little-endian NIfTI-1 header");
  std::int16_t q = 0, s = 0;
  std::memcpy(&q, h + 252, 2);
  std::memcpy(&s, h + 254, 2);
  return {q, s};
}

}  // namespace medsam::test

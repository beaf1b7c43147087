#include "medsam/io/nifti_xform.h"

#include <fmt/format.h>
#include <zlib.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "medsam/core/error.h"
#include "medsam/io/atomic_file.h"
#include "medsam/io/file_name.h"

namespace medsam::io {
namespace {

// NIfTI-1 header layout (nifti1.h): sizeof_hdr int32 at 0, qform_code int16 at 252, sform_code int16
// at 254, magic at 344 ("n+1" for a single .nii file); 348 bytes in all.
constexpr size_t kHeaderSize = 348;
constexpr size_t kQformOffset = 252;
constexpr size_t kSformOffset = 254;
constexpr int kMaxXformCode = 5;  // NIFTI_XFORM_TEMPLATE_OTHER, the highest code defined

void put_int16(unsigned char* header, size_t offset, int value) {
  const auto v = static_cast<std::int16_t>(value);
  std::memcpy(header + offset, &v, 2);  // little-endian host, checked against the header below
}

}  // namespace

void copy_nifti_with_xform_codes(const std::string& staged, const std::string& path, int qform_code,
                                 int sform_code) {
  for (int code : {qform_code, sform_code})
    if (code < 0 || code > kMaxXformCode)
      throw Error(fmt::format("{}: NIfTI xform code {} is outside 0..{}", path, code, kMaxXformCode));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(staged.c_str(), "rb"), &std::fclose);
  if (!in) throw Error(fmt::format("{}: cannot open: {}", staged, std::strerror(errno)));
  std::vector<unsigned char> buf(1 << 20);
  size_t n = std::fread(buf.data(), 1, buf.size(), in.get());
  std::int32_t sizeof_hdr = 0;
  if (n >= kHeaderSize) std::memcpy(&sizeof_hdr, buf.data(), 4);
  if (n < kHeaderSize || sizeof_hdr != 348 || std::memcmp(buf.data() + 344, "n+1", 4) != 0)
    throw Error(fmt::format("{}: not a little-endian single-file NIfTI-1 image", staged));
  put_int16(buf.data(), kQformOffset, qform_code);
  put_int16(buf.data(), kSformOffset, sform_code);

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

}  // namespace medsam::io

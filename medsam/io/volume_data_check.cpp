#include "medsam/io/volume_data_check.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

#include "medsam/core/error.h"
#include "medsam/io/file_name.h"
#include "medsam/io/nifti_header_value.h"

namespace medsam::io {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& what, std::uint64_t have, std::uint64_t need) {
  throw Error(fmt::format("{}: {}: {} of its {} bytes of voxel data are there; the file is incomplete or damaged "
                          "(copy or download it again)",
                          path, what, have, need));
}

// Receives the data piece by piece; returns false to stop reading.
using TakeBytes = std::function<bool(const unsigned char*, std::size_t)>;

// Streams the bytes of `path` from byte `offset` to `take`, inflated when `compressed` (zlib or gzip
// data; a gzip member that follows another continues it, as gzip reads `cat a.gz b.gz`; other trailing
// bytes are ignored, as gzip does). Returns "" when the data ended cleanly or `take` stopped, else what
// went wrong: "ends early", "is corrupt (<zlib's message>)", "is missing".
std::string stream_bytes(const std::string& path, std::uint64_t offset, bool compressed, const TakeBytes& take) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open", path));
  in.seekg(static_cast<std::streamoff>(offset));
  std::vector<unsigned char> input(1 << 18);
  const auto refill = [&] {
    in.read(reinterpret_cast<char*>(input.data()), static_cast<std::streamsize>(input.size()));
    return static_cast<std::size_t>(in.gcount());
  };
  if (!compressed) {
    for (std::size_t n; (n = refill()) > 0;)
      if (!take(input.data(), n)) break;
    return "";
  }
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) throw Error(fmt::format("{}: cannot start zlib", path));  // zlib or gzip
  std::vector<unsigned char> output(1 << 18);
  std::string problem;
  bool ended = false, started = false;  // ended: the last stream reached its end (and its check value matched)
  for (;;) {
    if (z.avail_in == 0) {
      z.next_in = input.data();
      z.avail_in = static_cast<uInt>(refill());
      if (z.avail_in == 0) break;
    }
    if (ended) {
      if (z.next_in[0] != 0x1f) break;  // not another gzip member
      inflateReset(&z);
      ended = false;
    }
    started = true;
    z.next_out = output.data();
    z.avail_out = static_cast<uInt>(output.size());
    const int rc = inflate(&z, Z_NO_FLUSH);
    if (!take(output.data(), output.size() - z.avail_out)) {
      ended = true;
      break;
    }
    if (rc == Z_STREAM_END) {
      ended = true;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      problem = fmt::format("is corrupt ({})", z.msg ? z.msg : zError(rc));
      break;
    }
  }
  inflateEnd(&z);
  if (problem.empty() && !ended) problem = started ? "ends early" : "is missing";
  return problem;
}

// --- NIfTI -------------------------------------------------------------------------------------------

struct NiftiLayout {
  std::uint64_t data_offset = 0;  // where the voxels start in the (inflated) file
  std::uint64_t data_bytes = 0;   // voxels x bytes per voxel
  int datatype = 0;
  bool swapped = false;           // written on a machine of the other byte order
};

template <class T>
T header_value(const std::string& h, std::size_t at, bool swap) {
  return nifti_header_value<T>(reinterpret_cast<const unsigned char*>(h.data()), at, swap);
}

// Bytes per voxel of a NIfTI datatype code; 0 for a code this does not know (DT_BINARY included).
std::uint64_t nifti_type_bytes(int datatype) {
  switch (datatype) {
    case 2: case 256: return 1;                        // uint8, int8
    case 4: case 512: return 2;                        // int16, uint16
    case 8: case 16: case 768: case 2304: return 4;    // int32, float32, uint32, rgba32
    case 128: return 3;                                // rgb24
    case 32: case 64: case 1024: case 1280: return 8;  // complex64, float64, int64, uint64
    case 1536: case 1792: return 16;                   // float128, complex128
    case 2048: return 32;                              // complex256
    default: return 0;
  }
}

std::uint64_t saturating_product(std::uint64_t a, std::uint64_t b) {
  return b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b ? std::numeric_limits<std::uint64_t>::max()
                                                                      : a * b;
}

// Where the voxels are and how many bytes they take, from the first 348 (NIfTI-1) or 540 (NIfTI-2)
// bytes; nullopt when `h` is not a single-file NIfTI header this understands.
// ref: nifti1_io.c nifti_convert_nhdr2nim (a single file's vox_offset is at least the header size)
std::optional<NiftiLayout> nifti_layout(const std::string& h) {
  if (h.size() < 348) return std::nullopt;
  NiftiLayout out;
  auto size = header_value<std::int32_t>(h, 0, false);
  if (size != 348 && size != 540) {
    out.swapped = true;
    size = header_value<std::int32_t>(h, 0, true);
    if (size != 348 && size != 540) return std::nullopt;
  }
  const bool v2 = size == 540;
  const bool swap = out.swapped;
  if (v2 && h.size() < 540) return std::nullopt;
  if (h.compare(v2 ? 4 : 344, 3, v2 ? "n+2" : "n+1") != 0) return std::nullopt;  // "ni1": data in a .img
  // dim[0..7]: int16 at 40 (NIfTI-1), int64 at 16 (NIfTI-2).
  const auto dim = [&](int i) -> std::int64_t {
    return v2 ? header_value<std::int64_t>(h, 16 + 8 * i, swap) : header_value<std::int16_t>(h, 40 + 2 * i, swap);
  };
  out.datatype = header_value<std::int16_t>(h, v2 ? 12 : 70, swap);
  const std::uint64_t per_voxel = nifti_type_bytes(out.datatype);
  const std::int64_t ndim = dim(0);
  if (per_voxel == 0 || ndim < 1 || ndim > 7) return std::nullopt;
  std::uint64_t voxels = 1;
  for (int i = 1; i <= ndim; ++i)
    voxels = saturating_product(voxels, static_cast<std::uint64_t>(std::max<std::int64_t>(dim(i), 1)));
  const double offset =
      v2 ? static_cast<double>(header_value<std::int64_t>(h, 168, swap)) : header_value<float>(h, 108, swap);
  out.data_offset = std::max<std::uint64_t>(offset > 0 ? static_cast<std::uint64_t>(offset) : 0, size);
  out.data_bytes = saturating_product(voxels, per_voxel);
  return out;
}

bool is_gzip_nifti(const std::string& path) { return has_extension(path, {".nii.gz"}); }

// The first 540 bytes of a .nii, or of what a .nii.gz inflates to (fewer when there are fewer).
std::string nifti_head(const std::string& path) {
  std::string head;
  stream_bytes(path, 0, is_gzip_nifti(path), [&](const unsigned char* p, std::size_t n) {
    head.append(reinterpret_cast<const char*>(p), std::min<std::size_t>(n, 540 - head.size()));
    return head.size() < 540;
  });
  return head;
}

void check_plain_nifti(const std::string& path) {
  const auto layout = nifti_layout(nifti_head(path));
  if (!layout) return;
  std::error_code ec;
  const std::uint64_t size = fs::file_size(path, ec);
  if (ec) throw Error(fmt::format("{}: cannot read its size: {}", path, ec.message()));
  const std::uint64_t have = size > layout->data_offset ? size - layout->data_offset : 0;
  if (have < layout->data_bytes) refuse(path, "cut short", have, layout->data_bytes);
}

void check_gzip_nifti(const std::string& path) {
  const auto inflated = inflated_size(path, 0, 540);
  const auto layout = nifti_layout(inflated.head);
  if (!layout) {
    if (!inflated.problem.empty())
      throw Error(fmt::format("{}: the gzip data {} before the end of the NIfTI header", path, inflated.problem));
    return;
  }
  const std::uint64_t have = inflated.bytes > layout->data_offset ? inflated.bytes - layout->data_offset : 0;
  if (!inflated.problem.empty()) refuse(path, "the gzip data " + inflated.problem, have, layout->data_bytes);
  if (have < layout->data_bytes) refuse(path, "the gzip data is short", have, layout->data_bytes);
}

// Counts float32/float64 values that are NaN or infinite in a stream of voxel bytes, after `skip` bytes
// and over `limit` bytes; a value split between two pieces is put together.
class NonFiniteCounter {
 public:
  NonFiniteCounter(std::size_t width, bool swapped, std::uint64_t skip, std::uint64_t limit)
      : width_(width), swapped_(swapped), skip_(skip), left_(limit) {}

  bool take(const unsigned char* p, std::size_t n) {
    const std::size_t skipped = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, n));
    p += skipped;
    n -= skipped;
    skip_ -= skipped;
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, left_));
    left_ -= n;
    while (n > 0 && !carry_.empty()) {  // finish the value the last piece began
      carry_.push_back(*p++);
      --n;
      if (carry_.size() == width_) {
        check(carry_.data());
        carry_.clear();
      }
    }
    for (; n >= width_; p += width_, n -= width_) check(p);
    carry_.assign(p, p + n);
    return left_ > 0;
  }
  std::int64_t count() const { return count_; }

 private:
  void check(const unsigned char* v) {
    unsigned char b[8];
    std::memcpy(b, v, width_);
    if (swapped_) std::reverse(b, b + width_);
    double value = 0;
    if (width_ == 4) {
      float f = 0;
      std::memcpy(&f, b, 4);
      value = f;
    } else {
      std::memcpy(&value, b, 8);
    }
    count_ += !std::isfinite(value);
  }
  std::size_t width_;
  bool swapped_;
  std::uint64_t skip_, left_;
  std::vector<unsigned char> carry_;
  std::int64_t count_ = 0;
};

// --- MetaImage ---------------------------------------------------------------------------------------

struct MetaImageData {
  std::string file;            // where the voxels are (the header itself for LOCAL)
  std::uint64_t offset = 0;    // their first byte in `file`
  bool at_end = false;         // HeaderSize = -1: the last data_bytes of `file`
  bool compressed = false;
};

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// The "Key = Value" lines up to ElementDataFile, which ends a MetaImage header; nullopt when there is
// none in the first MiB, or the data is spread over several files (LIST, a file-name pattern).
std::optional<MetaImageData> metaimage_data(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open", path));
  MetaImageData out;
  long long header_size = 0;
  for (std::string line; std::getline(in, line) && in.tellg() < (1 << 20);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = trimmed(line.substr(0, eq)), value = trimmed(line.substr(eq + 1));
    if (key == "CompressedData") {
      std::string v = value;
      std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
      out.compressed = v == "true";
    } else if (key == "HeaderSize") {
      try {
        header_size = std::stoll(value);
      } catch (const std::exception&) {
        header_size = 0;
      }
    } else if (key == "ElementDataFile") {
      if (value == "LOCAL") {
        out.file = path;
        out.offset = static_cast<std::uint64_t>(in.tellg());
        return out;
      }
      if (value.empty() || value == "LIST" || value.find_first_of("% \t") != std::string::npos) return std::nullopt;
      const fs::path data(value);
      out.file = data.is_absolute() ? value : (fs::path(path).parent_path() / data).string();
      out.at_end = header_size == -1;
      out.offset = header_size > 0 ? static_cast<std::uint64_t>(header_size) : 0;
      return out;
    }
  }
  return std::nullopt;
}

}  // namespace

InflatedSize inflated_size(const std::string& path, std::uint64_t offset, std::size_t head_bytes) {
  InflatedSize r;
  r.problem = stream_bytes(path, offset, true, [&](const unsigned char* p, std::size_t n) {
    if (r.head.size() < head_bytes)
      r.head.append(reinterpret_cast<const char*>(p), std::min(n, head_bytes - r.head.size()));
    r.bytes += n;
    return true;
  });
  return r;
}

void check_nifti_data_complete(const std::string& path) {
  if (is_gzip_nifti(path)) check_gzip_nifti(path);
  else if (has_extension(path, {".nii"})) check_plain_nifti(path);
}

std::int64_t nifti_non_finite_count(const std::string& path) {
  if (!has_extension(path, {".nii", ".nii.gz"})) return 0;
  const auto layout = nifti_layout(nifti_head(path));
  if (!layout || (layout->datatype != 16 && layout->datatype != 64)) return 0;  // float32, float64
  const bool gz = is_gzip_nifti(path);
  NonFiniteCounter counter(layout->datatype == 16 ? 4 : 8, layout->swapped, gz ? layout->data_offset : 0,
                           layout->data_bytes);
  stream_bytes(path, gz ? 0 : layout->data_offset, gz,
               [&](const unsigned char* p, std::size_t n) { return counter.take(p, n); });
  return counter.count();
}

void check_metaimage_data_complete(const std::string& path, std::uint64_t data_bytes) {
  const auto data = metaimage_data(path);
  if (!data) return;
  const std::string where = data->file == path ? path : fmt::format("{} (data file of {})", data->file, path);
  std::error_code ec;
  const std::uint64_t size = fs::file_size(data->file, ec);
  if (ec) throw Error(fmt::format("{}: cannot read its data file: {}", where, ec.message()));
  if (data->compressed) {
    const auto inflated = inflated_size(data->file, data->at_end ? 0 : data->offset);
    if (!inflated.problem.empty()) refuse(where, "the compressed data " + inflated.problem, inflated.bytes, data_bytes);
    if (inflated.bytes < data_bytes) refuse(where, "the compressed data is short", inflated.bytes, data_bytes);
    return;
  }
  const std::uint64_t have = data->at_end ? size : size > data->offset ? size - data->offset : 0;
  if (have < data_bytes) refuse(where, "cut short", have, data_bytes);
}

}  // namespace medsam::io

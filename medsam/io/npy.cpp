// .npy read/write. ref: numpy/lib/format.py read_array, write_array
#include "medsam/io/npy.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "medsam/core/error.h"
#include "medsam/io/atomic_file.h"
#include "medsam/io/npy_header.h"
#include "medsam/io/zip.h"

namespace medsam {
namespace {

void swap_bytes(at::Tensor& t) {
  const size_t item = t.element_size();
  auto* p = static_cast<unsigned char*>(t.data_ptr());
  for (int64_t i = 0; i < t.numel(); ++i, p += item) std::reverse(p, p + item);
}

at::Tensor read_array(const ByteSource& source) {
  const NpyHeader h = read_npy_header(source);
  // Fortran order stores the transpose in C order: read with the reversed shape, then reverse the axes.
  std::vector<int64_t> stored = h.shape;
  if (h.fortran_order) std::reverse(stored.begin(), stored.end());
  at::Tensor t = torch::empty(stored, torch::TensorOptions().dtype(h.dtype));
  source.read(h.data_offset, t.data_ptr(), h.data_bytes);
  if (h.byte_swap) swap_bytes(t);
  // LibTorch 1.13 has no uint16/32/64: widened as the image and volume readers widen uint16.
  if (h.unsigned_bits == 16) t = t.to(torch::kInt).bitwise_and(0xFFFF);
  else if (h.unsigned_bits == 32) t = t.to(torch::kLong).bitwise_and(int64_t(0xFFFFFFFF));
  else if (h.unsigned_bits == 64 && t.numel() > 0 && t.min().item<int64_t>() < 0)
    throw Error(fmt::format("{}: uint64 .npy data holds values above int64's range", source.name()));
  if (h.dtype == c10::ScalarType::Bool) {
    const auto* p = static_cast<const unsigned char*>(t.data_ptr());
    if (std::any_of(p, p + t.numel(), [](unsigned char b) { return b > 1; }))
      throw Error(fmt::format("{}: boolean .npy data holds bytes other than 0 and 1", source.name()));
  }
  if (h.fortran_order && t.dim() > 1) {
    std::vector<int64_t> axes(t.dim());
    for (int64_t i = 0; i < t.dim(); ++i) axes[i] = t.dim() - 1 - i;
    t = t.permute(axes).contiguous();
  }
  return t;
}

at::Tensor cpu_contiguous(const at::Tensor& tensor, const std::string& name) {
  if (!tensor.defined()) throw Error(fmt::format("{}: cannot write an undefined tensor", name));
  return tensor.detach().to(torch::kCPU).contiguous();
}

}  // namespace

at::Tensor read_npy(const std::string& path) { return read_array(*open_file_source(path)); }

at::Tensor parse_npy(const std::string& bytes, const std::string& name) {
  return read_array(*memory_source(bytes, name));
}

std::string format_npy(const at::Tensor& tensor) {
  const at::Tensor t = cpu_contiguous(tensor, "<memory>");
  std::string out = npy_header_bytes(t.scalar_type(), t.sizes().vec(), "<memory>");
  const size_t header = out.size(), bytes = t.numel() * t.element_size();
  out.resize(header + bytes);
  if (bytes) std::memcpy(out.data() + header, t.data_ptr(), bytes);
  return out;
}

void write_npy(const std::string& path, const at::Tensor& tensor) {
  const at::Tensor t = cpu_contiguous(tensor, path);
  const std::string header = npy_header_bytes(t.scalar_type(), t.sizes().vec(), path);
  write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out.write(header.data(), std::streamsize(header.size()));
    out.write(static_cast<const char*>(t.data_ptr()), std::streamsize(t.numel() * t.element_size()));
    out.close();
    if (!out) throw Error(fmt::format("cannot write {}", path));
  });
}

}  // namespace medsam

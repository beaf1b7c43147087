// The .npy header: magic, version, and the Python dict literal {'descr', 'fortran_order', 'shape'}.
// Internal to medsam/io (npy.cpp, npy_npz.cpp).
#pragma once

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>
#include <vector>

namespace medsam {

class ByteSource;

struct NpyHeader {
  c10::ScalarType dtype = c10::ScalarType::Float;  // how the data is stored (u2/u4/u8: as i2/i4/i8)
  int unsigned_bits = 0;  // 16, 32 or 64 for u2/u4/u8: widened on reading (u2 -> int32, u4 -> int64)
  bool byte_swap = false;       // data is big-endian
  bool fortran_order = false;
  std::vector<int64_t> shape;
  uint64_t data_offset = 0;     // first data byte
  uint64_t data_bytes = 0;      // product(shape) * itemsize
};

// ref: numpy/lib/format.py _read_array_header. Throws Error naming source.name() and the fault.
NpyHeader read_npy_header(const ByteSource& source);

// ref: numpy/lib/format.py _write_array_header (v1.0 if the header fits, else 2.0; 64-byte aligned).
std::string npy_header_bytes(c10::ScalarType dtype, const std::vector<int64_t>& shape, const std::string& name);

}  // namespace medsam

// NumPy .npy and .npz files <-> tensors. Supported dtypes: float16/32/64, int8/16/32/64, uint8, bool,
// either byte order (big-endian data is swapped on read), C or Fortran order (Fortran is transposed
// into a C-contiguous tensor), format versions 1.0, 2.0 and 3.0. Errors name the file and the fault.
// ref: numpy/lib/format.py (read_array, write_array, header layout)
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace medsam {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

at::Tensor read_npy(const std::string& path);
// Writes a C-ordered, little-endian .npy (version 1.0, or 2.0 when the header needs it), atomically.
// Any device and layout is accepted (copied to contiguous CPU first).
void write_npy(const std::string& path, const at::Tensor& tensor);

// The same from/to bytes in memory; `name` is used in error messages.
at::Tensor parse_npy(const std::string& bytes, const std::string& name);
std::string format_npy(const at::Tensor& tensor);

// .npz: a zip of NAME.npy members (stored or deflated, as np.savez / np.savez_compressed write).
// Names come back without ".npy", in archive order.
NamedTensors read_npz(const std::string& path);
// Only the members named in `wanted` (the others are neither inflated nor parsed: a case file may carry
// arrays of types we do not read, such as the object arrays of text prompts); in archive order.
NamedTensors read_npz(const std::string& path, const std::vector<std::string>& wanted);
// Writes stored (uncompressed) members, like np.savez, atomically.
void write_npz(const std::string& path, const NamedTensors& arrays);

}  // namespace medsam

// safetensors files (huggingface/safetensors): 8-byte little-endian header length N, N bytes of
// JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}, then
// the tensors' bytes back to back. Dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
// ref: huggingface/safetensors docs "Format" and safetensors/src/tensor.rs (validate)
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace medsam {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;
using StringPairs = std::vector<std::pair<std::string, std::string>>;

struct SafetensorsFile {
  NamedTensors tensors;  // in data order
  StringPairs metadata;  // __metadata__, in header order
};

// Validates like the reference library: header length and JSON, known dtypes, each tensor's byte
// range equal to numel * itemsize, ranges non-overlapping and covering the data exactly. Throws
// Error naming the file, the tensor and the fault.
SafetensorsFile read_safetensors(const std::string& path);
SafetensorsFile parse_safetensors(std::string bytes, const std::string& name);

// Writes tensors (made contiguous CPU) ordered by alignment then name, as the reference library
// does, with the header padded to 8 bytes; atomically.
void write_safetensors(const std::string& path, const NamedTensors& tensors, const StringPairs& metadata = {});

// True when the file starts like a safetensors file (plausible header length, then '{').
bool looks_like_safetensors_file(const std::string& path);

}  // namespace medsam

// safetensors dtype names <-> ScalarType. Internal to medsam/io.
#pragma once

#include <c10/core/ScalarType.h>

#include <string>

namespace medsam {

// Undefined when the name is not one we read.
c10::ScalarType safetensors_dtype(const std::string& name);
// Throws Error for dtypes safetensors cannot hold (or we do not write).
std::string safetensors_dtype_name(c10::ScalarType dtype);

}  // namespace medsam

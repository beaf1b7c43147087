#include "medsam/io/safetensors_dtype.h"

#include <fmt/format.h>

#include <utility>

#include "medsam/core/error.h"

namespace medsam {
namespace {
using S = c10::ScalarType;
// ref: safetensors/src/tensor.rs enum Dtype
const std::pair<const char*, S> kNames[] = {
    {"F64", S::Double}, {"F32", S::Float}, {"F16", S::Half}, {"BF16", S::BFloat16}, {"I64", S::Long},
    {"I32", S::Int},    {"I16", S::Short}, {"I8", S::Char},  {"U8", S::Byte},       {"BOOL", S::Bool},
};
}  // namespace

c10::ScalarType safetensors_dtype(const std::string& name) {
  for (const auto& [n, t] : kNames)
    if (name == n) return t;
  return S::Undefined;
}

std::string safetensors_dtype_name(c10::ScalarType dtype) {
  for (const auto& [n, t] : kNames)
    if (dtype == t) return n;
  throw Error(fmt::format("dtype {} cannot be written to safetensors", c10::toString(dtype)));
}

}  // namespace medsam

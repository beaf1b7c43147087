// The ONNX element types medsam reads and writes, in one table: their TensorProto.DataType codes, names,
// byte sizes and LibTorch dtypes (where LibTorch 1.13 has one).
// ref: onnx/onnx.proto TensorProto.DataType
#include <fmt/format.h>

#include "medsam/core/error.h"
#include "medsam/io/onnx_model.h"

namespace medsam::onnx {

namespace {
struct TypeRow {
  int32_t code;
  const char* name;
  uint64_t size;
  c10::ScalarType dtype;  // Undefined: read and sized, never written
};
constexpr TypeRow kTypes[] = {
    {1, "float32", 4, at::kFloat},    {2, "uint8", 1, at::kByte},     {3, "int8", 1, at::kChar},
    {4, "uint16", 2, at::ScalarType::Undefined},                     {5, "int16", 2, at::kShort},
    {6, "int32", 4, at::kInt},        {7, "int64", 8, at::kLong},     {9, "bool", 1, at::kBool},
    {10, "float16", 2, at::kHalf},    {11, "float64", 8, at::kDouble}, {12, "uint32", 4, at::ScalarType::Undefined},
    {13, "uint64", 8, at::ScalarType::Undefined},                    {16, "bfloat16", 2, at::kBFloat16},
};

const TypeRow* row_of(int32_t code) {
  for (const auto& row : kTypes)
    if (row.code == code) return &row;
  return nullptr;
}
}  // namespace

uint64_t element_size(int32_t type) {
  const TypeRow* row = row_of(type);
  return row ? row->size : 0;
}

const char* element_type_name(int32_t type) {
  const TypeRow* row = row_of(type);
  return row ? row->name : "other";
}

ElemType elem_type_of(const at::Tensor& t) {
  for (const auto& row : kTypes)
    if (row.dtype == t.scalar_type()) return static_cast<ElemType>(row.code);
  throw Error(fmt::format("ONNX has no element type for dtype {}", c10::toString(t.scalar_type())));
}

}  // namespace medsam::onnx

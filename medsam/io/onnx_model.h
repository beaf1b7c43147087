// ONNX model files (.onnx): a plain description of a graph (nodes, initializers, typed inputs and
// outputs) and its protobuf encoding. Format only: what the graph computes is decided by its builder
// (medsam/model/onnx_*). The encoder writes the ModelProto fields of onnx/onnx.proto by number; see
// docs/checkpoints.md for why there is no libprotobuf/libonnx dependency.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace medsam::onnx {

// TensorProto.DataType values.
enum class ElemType : int32_t { kFloat = 1, kUint8 = 2, kInt32 = 6, kInt64 = 7, kBool = 9, kFloat16 = 10, kBFloat16 = 16 };

// The ONNX type of a tensor's dtype; Error for dtypes ONNX has no type for. One table behind the three
// (onnx_types.cpp).
ElemType elem_type_of(const at::Tensor& t);
// Bytes per element of a TensorProto.DataType code (0 for codes not in the table), and its name ("other").
uint64_t element_size(int32_t type);
const char* element_type_name(int32_t type);

struct Attribute {
  enum class Kind { kFloat, kInt, kString, kFloats, kInts, kTensor };
  std::string name;
  Kind kind = Kind::kInt;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  at::Tensor t;

  static Attribute of(std::string name, int64_t v);
  static Attribute of(std::string name, float v);
  static Attribute of(std::string name, std::string v);
  static Attribute of(std::string name, std::vector<int64_t> v);
  static Attribute of(std::string name, std::vector<float> v);
  static Attribute of(std::string name, at::Tensor v);
};

struct Node {
  std::string op_type;
  std::string name;
  std::vector<std::string> inputs;  // "" for an omitted optional input
  std::vector<std::string> outputs;
  std::vector<Attribute> attributes;
};

// One dimension of a graph input/output: a fixed size, or a symbolic name shared by inputs that must agree.
struct Dim {
  int64_t value = -1;
  std::string param;  // non-empty: symbolic ("num_points")
};

struct ValueInfo {
  std::string name;
  ElemType type = ElemType::kFloat;
  std::vector<Dim> shape;
  std::string doc;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;                                   // in topological order
  std::vector<std::pair<std::string, at::Tensor>> initializers;  // written as raw little-endian data
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::string doc;
};

struct Model {
  Graph graph;
  int64_t ir_version = 8;  // IR 8 goes with opset 17
  int64_t opset = 17;      // default domain ("ai.onnx")
  std::string producer_name;
  std::string producer_version;
  std::string doc;
  std::vector<std::pair<std::string, std::string>> metadata;  // metadata_props
};

// Where initializer data goes: inside the .onnx file, or in PATH.data beside it (ONNX's external data:
// each initializer names the file, its offset and length), which a model past protobuf's 2 GiB limit on
// one message needs (vit_h's encoder: 2.5 GB). kAuto: external only when the single file would pass 2 GiB.
enum class ExternalData { kAuto, kAlways, kNever };

// Serialises the model as one protobuf ModelProto and writes it (and PATH.data) atomically. Tensor data is
// streamed from the initializers (no second copy in memory). Returns whether the data went to PATH.data.
// Throws Error naming the path when kNever and the file would pass 2 GiB, or when an initializer is not a
// CPU tensor.
bool write_onnx(const std::string& path, const Model& model, ExternalData external = ExternalData::kAuto);

// The encoded bytes (tests; small models).
std::string serialize_onnx(const Model& model);

// What an .onnx file holds, read without its tensor data (`medsam info MODEL.onnx`).
struct InitializerInfo {
  std::string name;
  int32_t type = 0;  // TensorProto.DataType
  std::vector<int64_t> dims;
  uint64_t bytes = 0;     // of its data, inline or external
  bool external = false;  // in a separate data file
  std::string location;   // external: that file, relative to the model's folder
  uint64_t offset = 0;    // external: where its data starts in that file
};
struct ModelInfo {
  int64_t ir_version = 0;
  int64_t opset = 0;  // of the default domain; 0 when absent
  std::string producer_name, producer_version, doc, graph_name;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<ValueInfo> inputs, outputs;  // dims: value, or param for symbolic ones
  std::vector<std::pair<std::string, int>> op_counts;  // op type -> nodes, most frequent first
  size_t nodes = 0;
  std::vector<InitializerInfo> initializers;
};

// Parses the ModelProto of `path` (fields it does not use are skipped). Throws Error naming the path and
// the fault on malformed or truncated bytes (never reads past the buffer), and when an external data file
// the weights need is missing beside it or shorter than they say.
ModelInfo read_onnx_info(const std::string& path);
ModelInfo parse_onnx_info(const std::string& bytes, const std::string& name);
// A readable report: producer, opset, metadata, inputs/outputs with shapes, op counts, weights.
std::string describe(const ModelInfo& info);

}  // namespace medsam::onnx

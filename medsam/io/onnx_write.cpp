// Protobuf encoding of onnx.proto's ModelProto (proto2 wire format). Field numbers are ONNX's, which
// its compatibility policy never renumbers.
#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <limits>
#include <memory>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/io/atomic_file.h"
#include "medsam/io/onnx_model.h"

namespace medsam::onnx {
namespace {

// A message under construction: owned bytes interleaved with borrowed tensor data, so a 360 MB
// initializer is written from its tensor without being copied into a string first.
class Message {
 public:
  size_t size() const { return size_; }

  void varint_field(int field, uint64_t v) {
    tag(field, 0);
    varint(v);
  }
  void int64_field(int field, int64_t v) { varint_field(field, static_cast<uint64_t>(v)); }
  void float_field(int field, float v) {
    tag(field, 5);
    char b[4];
    std::memcpy(b, &v, 4);  // little-endian hosts only (checked when tensors are written)
    owned(std::string(b, 4));
  }
  void string_field(int field, const std::string& s) {
    tag(field, 2);
    varint(s.size());
    owned(s);
  }
  void message_field(int field, Message&& m) {
    tag(field, 2);
    varint(m.size());
    for (auto& p : m.pieces_) pieces_.push_back(std::move(p));
    size_ += m.size_;
  }
  // Length-delimited bytes that stay owned by `keep` (a contiguous CPU tensor).
  void borrowed_bytes_field(int field, const at::Tensor& keep) {
    const size_t n = keep.nbytes();
    tag(field, 2);
    varint(n);
    pieces_.push_back(Piece{{}, keep, n});
    size_ += n;
  }

  void write_to(std::ostream& out) const {
    for (const auto& p : pieces_) {
      if (p.tensor.defined()) {
        out.write(static_cast<const char*>(p.tensor.data_ptr()), static_cast<std::streamsize>(p.size));
      } else {
        out.write(p.bytes.data(), static_cast<std::streamsize>(p.bytes.size()));
      }
    }
  }
  std::string bytes() const {
    std::string s;
    s.reserve(size_);
    for (const auto& p : pieces_) {
      if (p.tensor.defined()) s.append(static_cast<const char*>(p.tensor.data_ptr()), p.size);
      else s += p.bytes;
    }
    return s;
  }

 private:
  struct Piece {
    std::string bytes;
    at::Tensor tensor;
    size_t size = 0;
  };

  void tag(int field, int wire_type) { varint((static_cast<uint64_t>(field) << 3) | wire_type); }
  void varint(uint64_t v) {
    std::string b;
    while (v >= 0x80) {
      b.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    b.push_back(static_cast<char>(v));
    owned(std::move(b));
  }
  void owned(std::string b) {
    size_ += b.size();
    // Coalesce small owned writes into the previous owned piece.
    if (!pieces_.empty() && !pieces_.back().tensor.defined()) {
      pieces_.back().bytes += b;
    } else {
      pieces_.push_back(Piece{std::move(b), {}, 0});
    }
  }

  std::vector<Piece> pieces_;
  size_t size_ = 0;
};

// Initializer data written to a separate file: tensors in order, each at a 4096-aligned offset (so
// runtimes can memory-map them).
struct ExternalFile {
  std::string location;  // the data file's name, relative to the model's folder
  std::vector<std::pair<at::Tensor, uint64_t>> tensors;  // contiguous tensor, offset
  uint64_t size = 0;

  uint64_t add(const at::Tensor& t) {
    const uint64_t offset = (size + 4095) / 4096 * 4096;
    tensors.emplace_back(t, offset);
    size = offset + uint64_t(t.nbytes());
    return offset;
  }
};

// ref: onnx/onnx.proto TensorProto (dims 1, data_type 2, name 8, raw_data 9, external_data 13, data_location 14)
Message tensor_message(const std::string& name, const at::Tensor& tensor, ExternalFile* external = nullptr) {
  if (!tensor.device().is_cpu()) throw Error(fmt::format("ONNX initializer '{}' is not a CPU tensor", name));
  Message m;
  for (int64_t d : tensor.sizes()) m.int64_field(1, d);
  m.varint_field(2, static_cast<uint64_t>(elem_type_of(tensor)));
  if (!name.empty()) m.string_field(8, name);
  // Small tensors (shapes, axes, scalars) stay inline, as onnx's convert_model_to_external_data leaves them:
  // runtimes read them while inferring shapes, before any external data is loaded.
  constexpr int64_t kInlineBytes = 1024;
  if (external == nullptr || tensor.nbytes() < kInlineBytes) {
    m.borrowed_bytes_field(9, tensor.contiguous());
    return m;
  }
  const at::Tensor data = tensor.contiguous();
  const uint64_t offset = external->add(data);
  const std::pair<std::string, std::string> entries[] = {
      {"location", external->location},
      {"offset", std::to_string(offset)},
      {"length", std::to_string(uint64_t(data.nbytes()))}};
  for (const auto& [k, v] : entries) {
    Message entry;  // StringStringEntryProto (key 1, value 2)
    entry.string_field(1, k);
    entry.string_field(2, v);
    m.message_field(13, std::move(entry));
  }
  m.varint_field(14, 1);  // DataLocation EXTERNAL
  return m;
}

// ref: onnx/onnx.proto AttributeProto (name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, type 20)
Message attribute_message(const Attribute& a) {
  Message m;
  m.string_field(1, a.name);
  switch (a.kind) {
    case Attribute::Kind::kFloat:
      m.float_field(2, a.f);
      m.varint_field(20, 1);
      break;
    case Attribute::Kind::kInt:
      m.int64_field(3, a.i);
      m.varint_field(20, 2);
      break;
    case Attribute::Kind::kString:
      m.string_field(4, a.s);
      m.varint_field(20, 3);
      break;
    case Attribute::Kind::kTensor:
      m.message_field(5, tensor_message("", a.t));
      m.varint_field(20, 4);
      break;
    case Attribute::Kind::kFloats:
      for (float f : a.floats) m.float_field(7, f);
      m.varint_field(20, 6);
      break;
    case Attribute::Kind::kInts:
      for (int64_t i : a.ints) m.int64_field(8, i);
      m.varint_field(20, 7);
      break;
  }
  return m;
}

// ref: onnx/onnx.proto NodeProto (input 1, output 2, name 3, op_type 4, attribute 5)
Message node_message(const Node& n) {
  Message m;
  for (const auto& i : n.inputs) m.string_field(1, i);
  for (const auto& o : n.outputs) m.string_field(2, o);
  if (!n.name.empty()) m.string_field(3, n.name);
  m.string_field(4, n.op_type);
  for (const auto& a : n.attributes) m.message_field(5, attribute_message(a));
  return m;
}

// ref: onnx/onnx.proto ValueInfoProto -> TypeProto.tensor_type (elem_type 1, shape 2) -> TensorShapeProto.dim
Message value_info_message(const ValueInfo& v) {
  Message shape;
  for (const auto& d : v.shape) {
    Message dim;
    if (d.param.empty()) dim.int64_field(1, d.value);
    else dim.string_field(2, d.param);
    shape.message_field(1, std::move(dim));
  }
  Message tensor_type;
  tensor_type.varint_field(1, static_cast<uint64_t>(v.type));
  tensor_type.message_field(2, std::move(shape));
  Message type;
  type.message_field(1, std::move(tensor_type));
  Message m;
  m.string_field(1, v.name);
  m.message_field(2, std::move(type));
  if (!v.doc.empty()) m.string_field(3, v.doc);
  return m;
}

// ref: onnx/onnx.proto ModelProto (ir_version 1, producer_name 2, producer_version 3, doc_string 6, graph 7,
// opset_import 8, metadata_props 14) and GraphProto (node 1, name 2, initializer 5, doc_string 10, input 11,
// output 12)
Message model_message(const Model& model, ExternalFile* external = nullptr) {
  static_assert(sizeof(float) == 4, "IEEE float expected");
  const uint16_t probe = 1;
  if (*reinterpret_cast<const uint8_t*>(&probe) != 1) throw Error("ONNX export needs a little-endian host");
  Message graph;
  for (const auto& n : model.graph.nodes) graph.message_field(1, node_message(n));
  graph.string_field(2, model.graph.name);
  for (const auto& [name, t] : model.graph.initializers) graph.message_field(5, tensor_message(name, t, external));
  if (!model.graph.doc.empty()) graph.string_field(10, model.graph.doc);
  for (const auto& v : model.graph.inputs) graph.message_field(11, value_info_message(v));
  for (const auto& v : model.graph.outputs) graph.message_field(12, value_info_message(v));

  Message m;
  m.int64_field(1, model.ir_version);
  if (!model.producer_name.empty()) m.string_field(2, model.producer_name);
  if (!model.producer_version.empty()) m.string_field(3, model.producer_version);
  if (!model.doc.empty()) m.string_field(6, model.doc);
  m.message_field(7, std::move(graph));
  Message opset;
  opset.string_field(1, "");
  opset.int64_field(2, model.opset);
  m.message_field(8, std::move(opset));
  for (const auto& [k, v] : model.metadata) {
    Message entry;
    entry.string_field(1, k);
    entry.string_field(2, v);
    m.message_field(14, std::move(entry));
  }
  return m;
}

}  // namespace

namespace {
Attribute named(std::string name, Attribute::Kind kind) {
  Attribute a;
  a.name = std::move(name);
  a.kind = kind;
  return a;
}
}  // namespace

// clang-format off
Attribute Attribute::of(std::string n, int64_t v) { Attribute a = named(std::move(n), Kind::kInt); a.i = v; return a; }
Attribute Attribute::of(std::string n, float v) { Attribute a = named(std::move(n), Kind::kFloat); a.f = v; return a; }
Attribute Attribute::of(std::string n, std::string v) {
  Attribute a = named(std::move(n), Kind::kString); a.s = std::move(v); return a;
}
Attribute Attribute::of(std::string n, std::vector<int64_t> v) {
  Attribute a = named(std::move(n), Kind::kInts); a.ints = std::move(v); return a;
}
Attribute Attribute::of(std::string n, std::vector<float> v) {
  Attribute a = named(std::move(n), Kind::kFloats); a.floats = std::move(v); return a;
}
Attribute Attribute::of(std::string n, at::Tensor v) {
  Attribute a = named(std::move(n), Kind::kTensor); a.t = std::move(v); return a;
}
// clang-format on

std::string serialize_onnx(const Model& model) { return model_message(model).bytes(); }

namespace {

// Writes fill's bytes to `file`; Error naming it when that fails.
void write_stream(const std::string& file, const std::function<void(std::ostream&)>& fill) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(fmt::format("cannot open {} for writing", file));
  fill(out);
  out.flush();
  if (!out) throw Error(fmt::format("{}: write failed (disk full?)", file));
}

// For the two-file case, where both must be complete before either is renamed: fills
// temporary_path_for(PATH) (removed again on failure) and returns its name for commit_file.
std::string write_temporary(const std::string& path, const std::function<void(std::ostream&)>& fill) {
  const std::string tmp = temporary_path_for(path);
  try {
    write_stream(tmp, fill);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  return tmp;
}

}  // namespace

bool write_onnx(const std::string& path, const Model& model, ExternalData external) {
  // protobuf refuses to parse a message of 2 GiB or more; ONNX's external data is the way past it.
  constexpr size_t kLimit = size_t(1) << 31;
  if (external != ExternalData::kAlways) {
    const Message m = model_message(model);
    if (m.size() < kLimit) {
      write_atomically(path, [&](const std::string& tmp) { write_stream(tmp, [&](std::ostream& out) { m.write_to(out); }); });
      // An earlier export to this name with external data left PATH.data; the model that read it is gone.
      std::error_code ec;
      if (std::filesystem::is_regular_file(path + ".data", ec) && std::filesystem::remove(path + ".data", ec))
        log_info("{}: removed {}.data, the weights file of the model this export replaced", path, path);
      return false;
    }
    if (external == ExternalData::kNever) {
      throw Error(fmt::format("{}: the ONNX graph would be {:.2f} GiB, past protobuf's 2 GiB limit for one file",
                              path, double(m.size()) / (1 << 30)));
    }
  }
  ExternalFile data;
  data.location = std::filesystem::path(path).filename().string() + ".data";
  const Message m = model_message(model, &data);
  // Both files are written in full before either replaces what was there, the data renamed first: a crash
  // leaves the old pair, or a new data file beside the old model only between the two renames.
  const std::string data_tmp = write_temporary(path + ".data", [&](std::ostream& out) {
    uint64_t at = 0;
    for (const auto& [t, offset] : data.tensors) {
      for (; at < offset; ++at) out.put('\0');
      const uint64_t n = uint64_t(t.nbytes());
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(n));
      at += n;
    }
  });
  std::string model_tmp;
  try {
    model_tmp = write_temporary(path, [&](std::ostream& out) { m.write_to(out); });
  } catch (...) {
    std::remove(data_tmp.c_str());
    throw;
  }
  try {
    commit_file(data_tmp, path + ".data");
  } catch (...) {
    std::remove(data_tmp.c_str());
    std::remove(model_tmp.c_str());
    throw;
  }
  try {
    commit_file(model_tmp, path);
  } catch (...) {
    std::remove(model_tmp.c_str());
    throw;
  }
  return true;
}

}  // namespace medsam::onnx

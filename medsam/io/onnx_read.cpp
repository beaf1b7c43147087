// Reading what an .onnx file holds (ModelProto, protobuf wire format) for `medsam info`: the fields the
// writer (onnx_write.cpp) emits and any other producer's file has, tensor data skipped.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "medsam/core/error.h"
#include "medsam/core/file_text.h"
#include "medsam/io/onnx_model.h"

namespace medsam::onnx {
namespace {

// A bounds-checked cursor over one message's bytes.
class Reader {
 public:
  Reader(const char* begin, const char* end, const std::string* name) : p_(begin), end_(end), name_(name) {}

  bool done() const { return p_ >= end_; }

  // Next field: its number and wire type.
  std::pair<int, int> tag() {
    const uint64_t t = varint();
    if ((t >> 3) == 0 || (t >> 3) > (1u << 29)) fail("bad field number");
    return {static_cast<int>(t >> 3), static_cast<int>(t & 7)};
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) fail("truncated varint");
      const auto b = static_cast<uint8_t>(*p_++);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint longer than 10 bytes");
    return 0;
  }
  // Length-delimited payload as a sub-reader.
  Reader bytes() {
    const uint64_t n = varint();
    if (n > uint64_t(end_ - p_)) fail("length-delimited field runs past the end");
    Reader r(p_, p_ + n, name_);
    p_ += n;
    return r;
  }
  std::string string() {
    Reader r = bytes();
    return std::string(r.p_, r.end_);
  }
  uint64_t size() const { return uint64_t(end_ - p_); }
  void skip(int wire_type) {
    switch (wire_type) {
      case 0: varint(); break;
      case 1: advance(8); break;
      case 2: bytes(); break;
      case 5: advance(4); break;
      default: fail(fmt::format("unsupported wire type {}", wire_type));
    }
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("{}: not a valid ONNX model ({})", *name_, what));
  }

 private:
  void advance(size_t n) {
    if (n > size_t(end_ - p_)) fail("truncated fixed-size field");
    p_ += n;
  }

  const char* p_;
  const char* end_;
  const std::string* name_;
};

// Wire type 0 for a varint field, 2 for packed repeated ones; anything else is malformed.
void expect(Reader& r, int wire_type, int expected, const char* field) {
  if (wire_type != expected) r.fail(fmt::format("field {} has wire type {}", field, wire_type));
}

// ref: onnx/onnx.proto StringStringEntryProto (key 1, value 2)
std::pair<std::string, std::string> read_entry(Reader r) {
  std::pair<std::string, std::string> kv;
  while (!r.done()) {
    const auto [f, w] = r.tag();
    if (f == 1 && w == 2) kv.first = r.string();
    else if (f == 2 && w == 2) kv.second = r.string();
    else r.skip(w);
  }
  return kv;
}

// ref: onnx/onnx.proto TensorShapeProto.Dimension (dim_value 1, dim_param 2)
Dim read_dim(Reader r) {
  Dim d;
  while (!r.done()) {
    const auto [f, w] = r.tag();
    if (f == 1 && w == 0) d.value = static_cast<int64_t>(r.varint());
    else if (f == 2 && w == 2) d.param = r.string();
    else r.skip(w);
  }
  return d;
}

// ref: onnx/onnx.proto ValueInfoProto -> TypeProto.tensor_type -> shape
ValueInfo read_value_info(Reader r) {
  ValueInfo v;
  while (!r.done()) {
    const auto [f, w] = r.tag();
    if (f == 1 && w == 2) {
      v.name = r.string();
    } else if (f == 2 && w == 2) {
      Reader type = r.bytes();
      while (!type.done()) {
        const auto [tf, tw] = type.tag();
        if (tf != 1 || tw != 2) {
          type.skip(tw);
          continue;
        }
        Reader tensor = type.bytes();
        while (!tensor.done()) {
          const auto [ef, ew] = tensor.tag();
          if (ef == 1 && ew == 0) {
            v.type = static_cast<ElemType>(tensor.varint());
          } else if (ef == 2 && ew == 2) {
            Reader shape = tensor.bytes();
            while (!shape.done()) {
              const auto [sf, sw] = shape.tag();
              if (sf == 1 && sw == 2) v.shape.push_back(read_dim(shape.bytes()));
              else shape.skip(sw);
            }
          } else {
            tensor.skip(ew);
          }
        }
      }
    } else if (f == 3 && w == 2) {
      v.doc = r.string();
    } else {
      r.skip(w);
    }
  }
  return v;
}

// Product of the dims, saturating (hostile files may hold any numbers); 0 for a negative dim.
uint64_t element_count(const std::vector<int64_t>& dims) {
  uint64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return 0;
    if (d != 0 && n > UINT64_MAX / uint64_t(d)) return UINT64_MAX;
    n *= uint64_t(d);
  }
  return n;
}

// ref: onnx/onnx.proto TensorProto (dims 1, data_type 2, float_data 4, int32_data 5, int64_data 7, name 8,
// raw_data 9, external_data 13, data_location 14)
InitializerInfo read_initializer(Reader r) {
  InitializerInfo t;
  uint64_t raw = 0, typed_values = 0, external_length = 0;
  while (!r.done()) {
    const auto [f, w] = r.tag();
    if (f == 1 && w == 0) {
      t.dims.push_back(static_cast<int64_t>(r.varint()));
    } else if (f == 1 && w == 2) {  // packed dims
      Reader packed = r.bytes();
      while (!packed.done()) t.dims.push_back(static_cast<int64_t>(packed.varint()));
    } else if (f == 2) {
      expect(r, w, 0, "TensorProto.data_type");
      t.type = static_cast<int32_t>(r.varint());
    } else if (f == 8 && w == 2) {
      t.name = r.string();
    } else if (f == 9 && w == 2) {
      raw = r.bytes().size();
    } else if ((f == 4 || f == 5 || f == 7) && w == 2) {
      typed_values += r.bytes().size();  // packed values: an estimate of the payload
    } else if (f == 13 && w == 2) {
      const auto [key, value] = read_entry(r.bytes());
      if (key == "length") external_length = std::strtoull(value.c_str(), nullptr, 10);
      if (key == "offset") t.offset = std::strtoull(value.c_str(), nullptr, 10);
      if (key == "location") t.location = value;
    } else if (f == 14 && w == 0) {
      t.external = r.varint() == 1;
    } else {
      r.skip(w);
    }
  }
  const uint64_t numel = element_count(t.dims), size = element_size(t.type);
  const uint64_t from_shape = size != 0 && numel > UINT64_MAX / size ? UINT64_MAX : numel * size;
  t.bytes = t.external ? (external_length ? external_length : from_shape) : (raw ? raw : typed_values);
  return t;
}

// ref: onnx/onnx.proto GraphProto (node 1, name 2, initializer 5, input 11, output 12)
void read_graph(Reader r, ModelInfo& info) {
  std::map<std::string, int> ops;
  while (!r.done()) {
    const auto [f, w] = r.tag();
    if (f == 1 && w == 2) {
      Reader node = r.bytes();
      ++info.nodes;
      while (!node.done()) {
        const auto [nf, nw] = node.tag();
        if (nf == 4 && nw == 2) ++ops[node.string()];
        else node.skip(nw);
      }
    } else if (f == 2 && w == 2) {
      info.graph_name = r.string();
    } else if (f == 5 && w == 2) {
      info.initializers.push_back(read_initializer(r.bytes()));
    } else if (f == 11 && w == 2) {
      info.inputs.push_back(read_value_info(r.bytes()));
    } else if (f == 12 && w == 2) {
      info.outputs.push_back(read_value_info(r.bytes()));
    } else {
      r.skip(w);
    }
  }
  info.op_counts.assign(ops.begin(), ops.end());
  std::stable_sort(info.op_counts.begin(), info.op_counts.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  // Graph inputs may list initializers too (IR < 4 files): keep only the real inputs.
  std::vector<ValueInfo> real;
  for (auto& v : info.inputs) {
    const bool is_weight = std::any_of(info.initializers.begin(), info.initializers.end(),
                                       [&](const InitializerInfo& t) { return t.name == v.name; });
    if (!is_weight) real.push_back(std::move(v));
  }
  info.inputs = std::move(real);
}

std::string shape_text(const ValueInfo& v) {
  std::vector<std::string> dims;
  for (const auto& d : v.shape) dims.push_back(d.param.empty() ? (d.value < 0 ? "?" : std::to_string(d.value)) : d.param);
  return fmt::format("({})", fmt::join(dims, ", "));
}

}  // namespace

// ref: onnx/onnx.proto ModelProto (ir_version 1, producer_name 2, producer_version 3, doc_string 6, graph 7,
// opset_import 8, metadata_props 14)
ModelInfo parse_onnx_info(const std::string& bytes, const std::string& name) {
  ModelInfo info;
  Reader r(bytes.data(), bytes.data() + bytes.size(), &name);
  bool has_graph = false;
  while (!r.done()) {
    const auto [f, w] = r.tag();
    if (f == 1 && w == 0) {
      info.ir_version = static_cast<int64_t>(r.varint());
    } else if (f == 2 && w == 2) {
      info.producer_name = r.string();
    } else if (f == 3 && w == 2) {
      info.producer_version = r.string();
    } else if (f == 6 && w == 2) {
      info.doc = r.string();
    } else if (f == 7 && w == 2) {
      read_graph(r.bytes(), info);
      has_graph = true;
    } else if (f == 8 && w == 2) {
      Reader opset = r.bytes();
      std::string domain;
      int64_t version = 0;
      while (!opset.done()) {
        const auto [of, ow] = opset.tag();
        if (of == 1 && ow == 2) domain = opset.string();
        else if (of == 2 && ow == 0) version = static_cast<int64_t>(opset.varint());
        else opset.skip(ow);
      }
      if (domain.empty() || domain == "ai.onnx") info.opset = version;
    } else if (f == 14 && w == 2) {
      info.metadata.push_back(read_entry(r.bytes()));
    } else {
      r.skip(w);
    }
  }
  if (info.ir_version == 0 || !has_graph) r.fail("no ir_version or no graph");
  return info;
}

ModelInfo read_onnx_info(const std::string& path) {
  ModelInfo info = parse_onnx_info(read_file_bytes(path, "ONNX model"), path);
  // A runtime fails late and vaguely on a missing or short data file; say it here, naming both files.
  std::map<std::string, uint64_t> needed;  // location -> bytes the weights reach
  for (const auto& t : info.initializers) {
    if (!t.external) continue;
    if (t.location.empty()) throw Error(fmt::format("{}: initializer '{}' is external without a location", path, t.name));
    needed[t.location] = std::max(needed[t.location], t.offset + t.bytes);
  }
  for (const auto& [location, bytes] : needed) {
    const std::string data = (std::filesystem::path(path).parent_path() / location).string();
    std::error_code ec;
    const auto size = std::filesystem::file_size(data, ec);
    if (ec) throw Error(fmt::format("{}: its weights are in {}, which is missing (keep the two files together)", path, data));
    if (size < bytes)
      throw Error(fmt::format("{}: its weights need {} bytes of {}, which holds {} (truncated copy?)", path, bytes, data, size));
  }
  return info;
}

std::string describe(const ModelInfo& info) {
  std::string out = fmt::format("format: ONNX (IR {}, opset {})\n", info.ir_version, info.opset);
  if (!info.producer_name.empty()) out += fmt::format("producer: {} {}\n", info.producer_name, info.producer_version);
  if (!info.doc.empty()) out += fmt::format("doc: {}\n", info.doc);
  for (const auto& [k, v] : info.metadata) out += fmt::format("{}: {}\n", k, v);
  out += "inputs:\n";
  for (const auto& v : info.inputs) out += fmt::format("  {} {} {}\n", v.name, element_type_name(int32_t(v.type)), shape_text(v));
  out += "outputs:\n";
  for (const auto& v : info.outputs) out += fmt::format("  {} {} {}\n", v.name, element_type_name(int32_t(v.type)), shape_text(v));
  std::vector<std::string> ops;
  for (const auto& [op, n] : info.op_counts) ops.push_back(fmt::format("{} {}", op, n));
  out += fmt::format("nodes: {} ({})\n", info.nodes, fmt::join(ops, ", "));
  uint64_t bytes = 0, external = 0, values = 0;
  for (const auto& t : info.initializers) {
    bytes += t.bytes;
    if (t.external) external += t.bytes;
    values += element_count(t.dims);
  }
  out += fmt::format("initializers: {} tensors, {} values, {:.1f} MB", info.initializers.size(), values, bytes / 1e6);
  if (external) out += fmt::format(" ({:.1f} MB in the external data file)", external / 1e6);
  out += "\n";
  return out;
}

}  // namespace medsam::onnx

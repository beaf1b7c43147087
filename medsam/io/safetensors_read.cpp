// ref: safetensors/src/tensor.rs SafeTensors::read_metadata and Metadata::validate
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <tuple>
#include <nlohmann/json.hpp>

#include "medsam/core/error.h"
#include "medsam/io/safetensors.h"
#include "medsam/io/safetensors_dtype.h"
#include "medsam/io/zip.h"

namespace medsam {
namespace {

constexpr uint64_t kMaxHeader = 100'000'000;  // the reference library's MAX_HEADER_SIZE

struct Info {
  std::string name;
  c10::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

uint64_t header_length(const ByteSource& src) {
  if (src.size() < 8) throw Error(fmt::format("{}: not a safetensors file (only {} bytes)", src.name(), src.size()));
  unsigned char b[8];
  src.read(0, b, 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | b[i];
  return n;
}

SafetensorsFile read_from(const ByteSource& src) {
  const std::string& file = src.name();
  const uint64_t n = header_length(src);
  if (n > kMaxHeader || n > src.size() - 8)
    throw Error(fmt::format("{}: safetensors header length {} is too large (file has {} bytes)", file, n, src.size()));
  std::string text(n, '\0');
  src.read(8, text.data(), n);
  if (text.empty() || text[0] != '{') throw Error(fmt::format("{}: safetensors header does not start with '{{'", file));
  nlohmann::ordered_json header;
  // A tensor name given twice would keep one entry silently (and surface as an offset gap): refused,
  // as the reference's serde map refuses it.
  std::set<std::string> names;
  std::string duplicate;
  const auto note_duplicates = [&](int depth, nlohmann::ordered_json::parse_event_t event, nlohmann::ordered_json& parsed) {
    if (event == nlohmann::ordered_json::parse_event_t::key && depth == 1 && duplicate.empty() &&
        !names.insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  try {
    header = nlohmann::ordered_json::parse(text, note_duplicates);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: safetensors header is not valid JSON: {}", file, e.what()));
  }
  if (!duplicate.empty()) throw Error(fmt::format("{}: safetensors header names '{}' twice", file, duplicate));
  if (!header.is_object()) throw Error(fmt::format("{}: safetensors header is not a JSON object", file));

  SafetensorsFile out;
  std::vector<Info> infos;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& key = it.key();
    const auto& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) throw Error(fmt::format("{}: __metadata__ is not an object", file));
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) throw Error(fmt::format("{}: __metadata__ value '{}' is not a string", file, m.key()));
        out.metadata.emplace_back(m.key(), m.value().get<std::string>());
      }
      continue;
    }
    auto bad = [&](const std::string& what) { return Error(fmt::format("{}: tensor '{}': {}", file, key, what)); };
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      throw bad("entry needs dtype, shape and data_offsets");
    Info info;
    info.name = key;
    if (!v["dtype"].is_string()) throw bad("dtype is not a string");
    info.dtype = safetensors_dtype(v["dtype"].get<std::string>());
    if (info.dtype == c10::ScalarType::Undefined)
      throw bad(fmt::format("unsupported dtype '{}'", v["dtype"].get<std::string>()));
    const auto& shape = v["shape"];
    const auto& offsets = v["data_offsets"];
    if (!shape.is_array() || shape.size() > 64) throw bad("shape is not a list of at most 64 dimensions");
    uint64_t count = 1;
    for (const auto& d : shape) {
      if (!d.is_number_unsigned()) throw bad("shape has a non-integer or negative dimension");
      const uint64_t dim = d.get<uint64_t>();
      if (dim > (uint64_t(1) << 48) || (dim != 0 && count > (uint64_t(1) << 60) / dim)) throw bad("shape is too large");
      count *= dim;
      info.shape.push_back(int64_t(dim));
    }
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      throw bad("data_offsets is not [begin, end]");
    info.begin = offsets[0].get<uint64_t>();
    info.end = offsets[1].get<uint64_t>();
    if (info.end < info.begin) throw bad("data_offsets end before begin");
    if (info.end - info.begin != count * c10::elementSize(info.dtype))
      throw bad(fmt::format("data_offsets [{}, {}] hold {} bytes, shape [{}] of {} needs {}", info.begin, info.end,
                            info.end - info.begin, fmt::join(info.shape, ", "), v["dtype"].get<std::string>(),
                            count * c10::elementSize(info.dtype)));
    infos.push_back(std::move(info));
  }
  // ref: tensor.rs Metadata::validate: sorted by (begin, end), the ranges tile the data with no gap or
  // overlap (an empty tensor's [k, k] sorts before the tensor starting at k).
  std::stable_sort(infos.begin(), infos.end(),
                   [](const Info& a, const Info& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  const uint64_t data_at = 8 + n, data_len = src.size() - data_at;
  uint64_t expect = 0;
  for (const Info& info : infos) {
    if (info.begin != expect)
      throw Error(fmt::format("{}: tensor '{}' starts at data offset {}, expected {} (gap or overlap)", file, info.name,
                              info.begin, expect));
    expect = info.end;
  }
  if (expect != data_len)
    throw Error(fmt::format("{}: tensors cover {} data bytes but the file holds {}{}", file, expect, data_len,
                            expect > data_len ? " (truncated)" : ""));
  for (const Info& info : infos) {
    at::Tensor t = at::empty(info.shape, at::TensorOptions().dtype(info.dtype));
    src.read(data_at + info.begin, t.data_ptr(), info.end - info.begin);
    if (info.dtype == c10::ScalarType::Bool) {
      const auto* p = static_cast<const unsigned char*>(t.data_ptr());
      if (std::any_of(p, p + t.numel(), [](unsigned char b) { return b > 1; }))
        throw Error(fmt::format("{}: tensor '{}': BOOL data holds bytes other than 0 and 1", file, info.name));
    }
    out.tensors.emplace_back(info.name, std::move(t));
  }
  return out;
}

}  // namespace

SafetensorsFile read_safetensors(const std::string& path) { return read_from(*open_file_source(path)); }

SafetensorsFile parse_safetensors(std::string bytes, const std::string& name) {
  return read_from(*memory_source(std::move(bytes), name));
}

bool looks_like_safetensors_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char b[9];
  if (!in.read(reinterpret_cast<char*>(b), 9)) return false;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | b[i];
  return b[8] == '{' && n <= kMaxHeader;
}

}  // namespace medsam

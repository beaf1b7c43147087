// ref: safetensors/src/tensor.rs prepare + serialize_to_file (ordering, 8-byte header padding)
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "medsam/core/error.h"
#include "medsam/io/atomic_file.h"
#include "medsam/io/safetensors.h"
#include "medsam/io/safetensors_dtype.h"

namespace medsam {

void write_safetensors(const std::string& path, const NamedTensors& tensors, const StringPairs& metadata) {
  std::vector<std::pair<std::string, at::Tensor>> items;
  std::set<std::string> seen;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) throw Error(fmt::format("cannot write {}: tensor '{}' is undefined", path, name));
    if (name == "__metadata__" || !seen.insert(name).second)
      throw Error(fmt::format("cannot write {}: tensor name '{}' is reserved or repeated", path, name));
    items.emplace_back(name, tensor.detach().to(at::kCPU).contiguous());
  }
  // Larger elements first, then by name: every tensor starts aligned to its element size.
  std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    if (a.second.element_size() != b.second.element_size()) return a.second.element_size() > b.second.element_size();
    return a.first < b.first;
  });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : items) {
    const uint64_t bytes = uint64_t(t.numel()) * t.element_size();
    header[name] = {{"dtype", safetensors_dtype_name(t.scalar_type())},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((uint64_t(text.size()) >> (8 * i)) & 0xFF);
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), std::streamsize(text.size()));
    for (const auto& [name, t] : items)
      out.write(static_cast<const char*>(t.data_ptr()), std::streamsize(t.numel() * t.element_size()));
    out.close();
    if (!out) throw Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  });
}

}  // namespace medsam

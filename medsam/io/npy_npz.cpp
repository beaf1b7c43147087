// .npz archives: a zip of NAME.npy members. ref: numpy/lib/npyio.py NpzFile, _savez
#include <fmt/format.h>

#include <algorithm>

#include "medsam/core/error.h"
#include "medsam/io/atomic_file.h"
#include "medsam/io/npy.h"
#include "medsam/io/zip.h"

namespace medsam {

namespace {

NamedTensors read_members(const std::string& path, const std::vector<std::string>* wanted) {
  ZipReader zip(open_file_source(path));
  NamedTensors out;
  for (const ZipEntry& e : zip.entries()) {
    std::string name = e.name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    if (wanted && std::find(wanted->begin(), wanted->end(), name) == wanted->end()) continue;
    out.emplace_back(name, parse_npy(zip.read_string(e), path + ":" + e.name));
  }
  return out;
}

}  // namespace

NamedTensors read_npz(const std::string& path) { return read_members(path, nullptr); }

NamedTensors read_npz(const std::string& path, const std::vector<std::string>& wanted) {
  return read_members(path, &wanted);
}

void write_npz(const std::string& path, const NamedTensors& arrays) {
  write_atomically(path, [&](const std::string& tmp) {
    ZipWriter zip(tmp, 64);
    for (const auto& [name, tensor] : arrays) {
      const std::string bytes = format_npy(tensor);
      zip.add(name + ".npy", bytes.data(), bytes.size());
    }
    zip.finish();
  });
}

}  // namespace medsam

// Reading torch.save's zip format: find the archive's folder, check the byte order, refuse the
// formats we do not read (legacy, TorchScript), and unpickle data.pkl with storages loaded from
// data/<key> records. ref: torch/serialization.py _load, _is_zipfile, _check_seekable;
// caffe2/serialize/inline_container.cc (record layout: <archive>/data.pkl, data/<key>, byteorder)
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cstring>
#include <unordered_map>

#include "medsam/core/error.h"
#include "medsam/io/pth.h"
#include "medsam/io/pth_globals.h"
#include "medsam/io/zip.h"

namespace medsam {
namespace {

// torch.save before 1.6 (and with _use_new_zipfile_serialization=False): a pickled magic number
// 0x1950a86a20f9469cfc6c, then pickles; older still: a tar archive.
void refuse_unsupported(const ByteSource& src) {
  const std::string& name = src.name();
  unsigned char head[16] = {};
  const size_t n = size_t(std::min<uint64_t>(src.size(), sizeof head));
  src.read(0, head, n);
  if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
    throw Error(fmt::format("{}: legacy torch.save format (PyTorch < 1.6, or _use_new_zipfile_serialization=False) "
                            "is not supported; re-save it with a current PyTorch: "
                            "torch.save(torch.load(f), f2)",
                            name));
  if (src.size() > 262) {
    char ustar[5];
    src.read(257, ustar, 5);
    if (std::memcmp(ustar, "ustar", 5) == 0)
      throw Error(fmt::format("{}: tar-based legacy torch.save format is not supported; re-save it with a current PyTorch", name));
  }
  if (!looks_like_zip(src))
    throw Error(fmt::format("{}: not a PyTorch checkpoint (no zip signature; expected a torch.save file)", name));
}

// ref: caffe2/serialize/inline_container.cc PyTorchStreamReader::init: every record lives under
// one top-level folder, whatever its name; data.pkl is the pickle.
std::string archive_prefix(const ZipReader& zip) {
  for (const ZipEntry& e : zip.entries()) {
    const size_t slash = e.name.find('/');
    if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0)
      return e.name.substr(0, slash + 1);
  }
  if (zip.find("data.pkl")) return "";
  if (!zip.entries().empty() && zip.entries()[0].name.find("/constants.pkl") != std::string::npos)
    throw Error(fmt::format("{}: a TorchScript archive (torch.jit.save) without data.pkl; export a state_dict instead",
                            zip.name()));
  throw Error(fmt::format("{}: zip archive without a data.pkl record: not a torch.save file", zip.name()));
}

PickleRef read_archive(std::shared_ptr<const ByteSource> src, bool load_data = true) {
  refuse_unsupported(*src);
  const std::string file = src->name();
  ZipReader zip(std::move(src));
  const std::string prefix = archive_prefix(zip);
  if (zip.find(prefix + "constants.pkl") || zip.find(prefix + "code/"))
    throw Error(fmt::format("{}: a TorchScript archive (torch.jit.save), not a torch.save checkpoint; "
                            "save model.state_dict() with torch.save instead",
                            file));
  // ref: torch/serialization.py _load: the byteorder record (PyTorch >= 2.1); absent means little.
  if (const ZipEntry* bo = zip.find(prefix + "byteorder")) {
    if (bo->size > 16) throw Error(fmt::format("{}: malformed byteorder record", file));
    const std::string order = zip.read_string(*bo);
    if (order == "big")
      throw Error(fmt::format("{}: saved on a big-endian machine (byteorder 'big'); not supported", file));
    if (order != "little") throw Error(fmt::format("{}: unknown byteorder record '{}'", file, order));
  }
  const std::string pickle = zip.read_string(zip.at(prefix + "data.pkl"));

  std::unordered_map<std::string, c10::Storage> storages;  // shared storages stay shared
  StorageLoader loader = [&](const std::string& key, c10::ScalarType dtype, uint64_t numel) {
    const uint64_t item = c10::elementSize(dtype);
    if (numel > (uint64_t(1) << 60) / item)
      throw Error(fmt::format("storage '{}' claims {} elements", key.substr(0, 40), numel));
    auto it = storages.find(key);
    if (it == storages.end()) {
      const ZipEntry* e = zip.find(prefix + "data/" + key);
      if (!e) throw Error(fmt::format("storage record 'data/{}' is missing", key.substr(0, 40)));
      if (load_data) {
        at::Tensor bytes = at::empty({int64_t(e->size)}, at::TensorOptions().dtype(at::kByte));
        zip.read(*e, bytes.data_ptr());
        it = storages.emplace(key, bytes.storage()).first;
      } else {  // the record's size on the meta device: rebuild_tensor makes meta tensors of it
        it = storages.emplace(key, c10::Storage(c10::Storage::use_byte_size_t(), static_cast<int64_t>(e->size),
                                                c10::DataPtr(nullptr, c10::Device(c10::kMeta)), nullptr, false))
                 .first;
      }
    }
    if (it->second.nbytes() < numel * item)
      throw Error(fmt::format("storage record 'data/{}' has {} bytes, but {} elements of {} need {}", key,
                              it->second.nbytes(), numel, c10::toString(dtype), numel * item));
    return it->second;
  };
  TorchUnpicklerHooks hooks(loader);
  return unpickle(pickle, file, hooks);
}

}  // namespace

PickleRef read_pth(const std::string& path) { return read_archive(open_file_source(path)); }

PickleRef read_pth_metadata(const std::string& path) { return read_archive(open_file_source(path), false); }

PickleRef parse_pth(std::string bytes, const std::string& name) {
  return read_archive(memory_source(std::move(bytes), name));
}

NamedTensors tensors_of_dict(const PickleValue& dict, const std::string& file) {
  if (!dict.is_dict()) throw Error(fmt::format("{}: expected a dict of tensors, found a {}", file, dict.type_name()));
  NamedTensors out;
  out.reserve(dict.entries.size());
  for (const auto& [k, v] : dict.entries) {
    if (k->kind != PickleValue::Kind::String)
      throw Error(fmt::format("{}: state dict key {} is a {}, not a string", file, k->repr(60), k->type_name()));
    if (!v->is_tensor())
      throw Error(fmt::format("{}: entry '{}' is a {}, not a tensor", file, k->text, v->type_name()));
    out.emplace_back(k->text, v->tensor);
  }
  return out;
}

NamedTensors read_state_dict(const std::string& path) { return tensors_of_dict(*read_pth(path), path); }

}  // namespace medsam

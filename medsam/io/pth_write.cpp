// Writing a state dict Python's torch.load reads, with weights_only=True as well (the default since
// PyTorch 2.6): LibTorch's pickler with type tags off, so the pickle names only globals PyTorch's
// weights-only unpickler allows (torch._utils._rebuild_tensor_v2, torch.*Storage,
// collections.OrderedDict). torch::pickle_save tags every dict and list with
// torch.jit._pickle.restore_type_tag, which that unpickler refuses. The zip archive is streamed to the
// file (data.pkl, then one record per storage) instead of being built in memory first.
// ref: torch/csrc/jit/serialization/pickle.cpp pickle_save; torch/serialization.py _save
#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "medsam/core/error.h"
#include "medsam/io/atomic_file.h"
#include "medsam/io/pth.h"

namespace medsam {
namespace {

// Contiguous CPU tensor with a storage of its own (a view would drag its whole storage along and
// share it in Python).
at::Tensor compact(const at::Tensor& tensor) {
  at::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
  if (t.storage_offset() != 0 || t.storage().nbytes() != size_t(t.numel()) * t.element_size()) t = t.clone();
  return t;
}

// ref: torch/csrc/jit/serialization/export_module.cpp writeArchiveAndTensors (record names "data/<i>")
void write_archive(const std::string& path, const c10::IValue& value) {
  std::vector<char> pickle;  // the pickle program only; tensor bytes are written from their storages
  torch::jit::Pickler pickler([&](const char* bytes, size_t n) { pickle.insert(pickle.end(), bytes, bytes + n); },
                              nullptr, nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();
  write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    int write_errno = 0;
    {
      // The writer never reports a short write to LibTorch: its destructor finishes the archive and an
      // error thrown there would terminate. The stream's state is checked once the archive is complete.
      caffe2::serialize::PyTorchStreamWriter zip([&](const void* data, size_t n) -> size_t {
        if (out && !out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n))) write_errno = errno;
        return n;
      });
      zip.writeRecord("data.pkl", pickle.data(), pickle.size());
      const auto& tensors = pickler.tensorData();
      for (size_t i = 0; i < tensors.size(); ++i) {
        // compact(): a CPU tensor owning exactly its bytes, so the storage is the record.
        const c10::Storage& storage = tensors[i].storage();
        zip.writeRecord("data/" + std::to_string(i), storage.data(), storage.nbytes());
      }
      zip.writeEndOfFile();
    }
    out.close();
    if (!out || write_errno != 0)
      throw Error(fmt::format("cannot write {}: {}", path, std::strerror(write_errno ? write_errno : errno)));
  });
}

c10::IValue to_ivalue(const PickleValue& v, const std::string& path, int depth) {
  using K = PickleValue::Kind;
  if (depth > kMaxPickleDepth) throw Error(fmt::format("cannot write {}: nesting deeper than {}", path, kMaxPickleDepth));
  switch (v.kind) {
    case K::None: return c10::IValue();
    case K::Bool: return c10::IValue(v.boolean);
    case K::Int: return c10::IValue(v.integer);
    case K::Float: return c10::IValue(v.real);
    case K::String: return c10::IValue(v.text);
    case K::Tensor:
      if (!v.tensor.defined()) throw Error(fmt::format("cannot write {}: undefined tensor", path));
      return c10::IValue(compact(v.tensor));
    case K::List: {
      c10::impl::GenericList list(c10::AnyType::get());
      for (const auto& x : v.items) list.push_back(to_ivalue(*x, path, depth + 1));
      return c10::IValue(list);
    }
    case K::Tuple: {
      std::vector<c10::IValue> items;
      for (const auto& x : v.items) items.push_back(to_ivalue(*x, path, depth + 1));
      return c10::IValue(c10::ivalue::Tuple::create(std::move(items)));
    }
    case K::Dict: {
      const bool str_keys = std::all_of(v.entries.begin(), v.entries.end(), [](const auto& kv) { return kv.first->kind == K::String; });
      const bool int_keys = std::all_of(v.entries.begin(), v.entries.end(), [](const auto& kv) { return kv.first->kind == K::Int; });
      if (!str_keys && !int_keys)
        throw Error(fmt::format("cannot write {}: a dict's keys must be all str or all int ({})", path, v.repr(80)));
      const c10::TypePtr key_type = str_keys ? c10::TypePtr(c10::StringType::get()) : c10::TypePtr(c10::IntType::get());
      c10::impl::GenericDict dict(key_type, c10::AnyType::get());
      for (const auto& [k, x] : v.entries) dict.insert_or_assign(to_ivalue(*k, path, depth + 1), to_ivalue(*x, path, depth + 1));
      return c10::IValue(dict);
    }
    case K::Bytes:
    case K::BigInt:
    case K::Global:
    case K::Storage: break;
  }
  throw Error(fmt::format("cannot write {}: a {} cannot be written to .pth", path, v.type_name()));
}

}  // namespace

void write_pth(const std::string& path, const PickleValue& value) {
  write_archive(path, to_ivalue(value, path, 0));
}

void write_pth(const std::string& path, const NamedTensors& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) throw Error(fmt::format("cannot write {}: tensor '{}' is undefined", path, name));
    if (dict.contains(name)) throw Error(fmt::format("cannot write {}: key '{}' appears twice", path, name));
    dict.insert(name, compact(tensor));
  }
  write_archive(path, c10::IValue(dict));
}

}  // namespace medsam

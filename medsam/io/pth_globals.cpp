// The whitelist of globals a checkpoint may reference, and the meaning of calling each of them.
// Nothing outside this table can be named, so nothing outside it can run.
#include "medsam/io/pth_globals.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "medsam/core/error.h"

namespace medsam {
namespace {

using K = PickleValue::Kind;

enum class Role {
  kOrderedDict,
  kRebuildTensor,         // torch._utils._rebuild_tensor(storage, offset, size, stride)
  kRebuildTensorV2,       // (storage, offset, size, stride, requires_grad, hooks[, metadata])
  kRebuildTensorV3,       // (storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])
  kRebuildParameter,      // (data, requires_grad, hooks)
  kRebuildParameterState, // (data, requires_grad, hooks, state)
  kRebuildFromType,       // torch._tensor._rebuild_from_type_v2(func, type, args, state)
  kTensorType,            // torch.Tensor, torch.nn.parameter.Parameter (only as _rebuild_from_type_v2's type)
  kStorage,               // typed or untyped storage classes (only inside persistent ids)
  kDtype,                 // torch.float32, ... (only as _rebuild_tensor_v3's dtype)
  kCodecsEncode,          // _codecs.encode(str, 'latin1'): how protocol 2 pickles bytes
  kSet,                   // builtins.set / frozenset(list): kept as a list
  kIdentity,              // torch.jit._pickle.restore_type_tag(value, type) and build_*list(list)
  // What torch.load(weights_only=True) also accepts (torch >= 2.6's allow-list), as plain values:
  kSize,                  // torch.Size(tuple of ints) -> that tuple
  kDevice,                // torch.device('cuda', 0) -> 'cuda:0'
  kCounter,               // collections.Counter(dict) -> that dict
  kByteArray,             // bytearray(bytes) -> bytes
  kComplex,               // complex(real, imag) -> (real, imag)
};

struct Allowed {
  Role role;
  c10::ScalarType dtype = c10::ScalarType::Undefined;
};

const std::map<std::string, Allowed>& table() {
  using S = c10::ScalarType;
  static const std::map<std::string, Allowed> t = {
      {"collections.OrderedDict", {Role::kOrderedDict}},
      {"torch._utils._rebuild_tensor", {Role::kRebuildTensor}},
      {"torch._utils._rebuild_tensor_v2", {Role::kRebuildTensorV2}},
      {"torch._utils._rebuild_tensor_v3", {Role::kRebuildTensorV3}},
      {"torch._utils._rebuild_parameter", {Role::kRebuildParameter}},
      {"torch._utils._rebuild_parameter_with_state", {Role::kRebuildParameterState}},
      {"torch._tensor._rebuild_from_type_v2", {Role::kRebuildFromType}},
      {"torch.Tensor", {Role::kTensorType}},
      {"torch.nn.parameter.Parameter", {Role::kTensorType}},
      {"torch.FloatStorage", {Role::kStorage, S::Float}},
      {"torch.HalfStorage", {Role::kStorage, S::Half}},
      {"torch.BFloat16Storage", {Role::kStorage, S::BFloat16}},
      {"torch.DoubleStorage", {Role::kStorage, S::Double}},
      {"torch.LongStorage", {Role::kStorage, S::Long}},
      {"torch.IntStorage", {Role::kStorage, S::Int}},
      {"torch.ShortStorage", {Role::kStorage, S::Short}},
      {"torch.CharStorage", {Role::kStorage, S::Char}},
      {"torch.ByteStorage", {Role::kStorage, S::Byte}},
      {"torch.BoolStorage", {Role::kStorage, S::Bool}},
      {"torch.ComplexFloatStorage", {Role::kStorage, S::ComplexFloat}},
      {"torch.ComplexDoubleStorage", {Role::kStorage, S::ComplexDouble}},
      {"torch.UntypedStorage", {Role::kStorage, S::Byte}},
      {"torch.storage.UntypedStorage", {Role::kStorage, S::Byte}},
      {"torch.float32", {Role::kDtype, S::Float}},
      {"torch.float16", {Role::kDtype, S::Half}},
      {"torch.bfloat16", {Role::kDtype, S::BFloat16}},
      {"torch.float64", {Role::kDtype, S::Double}},
      {"torch.int64", {Role::kDtype, S::Long}},
      {"torch.int32", {Role::kDtype, S::Int}},
      {"torch.int16", {Role::kDtype, S::Short}},
      {"torch.int8", {Role::kDtype, S::Char}},
      {"torch.uint8", {Role::kDtype, S::Byte}},
      {"torch.bool", {Role::kDtype, S::Bool}},
      {"_codecs.encode", {Role::kCodecsEncode}},
      {"builtins.set", {Role::kSet}},
      {"builtins.frozenset", {Role::kSet}},
      {"__builtin__.set", {Role::kSet}},
      {"__builtin__.frozenset", {Role::kSet}},
      {"torch.Size", {Role::kSize}},
      {"torch.device", {Role::kDevice}},
      {"collections.Counter", {Role::kCounter}},
      {"builtins.bytearray", {Role::kByteArray}},
      {"__builtin__.bytearray", {Role::kByteArray}},
      {"builtins.complex", {Role::kComplex}},
      {"__builtin__.complex", {Role::kComplex}},
      // LibTorch's torch::pickle_save tags typed containers (files of LibTorch programs, and ours
      // before the writer turned tags off); Python's torch.load accepts them unless weights_only.
      {"torch.jit._pickle.restore_type_tag", {Role::kIdentity}},
      {"torch.jit._pickle.build_intlist", {Role::kIdentity}},
      {"torch.jit._pickle.build_doublelist", {Role::kIdentity}},
      {"torch.jit._pickle.build_boollist", {Role::kIdentity}},
      {"torch.jit._pickle.build_tensorlist", {Role::kIdentity}},
  };
  return t;
}

const Allowed& allowed(const PickleValue& v, const char* use) {
  if (v.kind != K::Global) throw Error(fmt::format("cannot call a {} ({})", v.type_name(), use));
  return table().at(v.text);  // only whitelisted names ever become Global values
}

void expect_args(const PickleValue& args, size_t min, size_t max, const std::string& fn) {
  if (args.items.size() < min || args.items.size() > max)
    throw Error(fmt::format("{} called with {} arguments", fn, args.items.size()));
}

int64_t as_int(const PickleValue& v, const char* what) {
  if (v.kind != K::Int) throw Error(fmt::format("{} is a {}, not an int", what, v.type_name()));
  return v.integer;
}

std::vector<int64_t> int_tuple(const PickleValue& v, const char* what) {
  if (v.kind != K::Tuple && v.kind != K::List) throw Error(fmt::format("{} is a {}, not a tuple", what, v.type_name()));
  if (v.items.size() > 64) throw Error(fmt::format("{} has {} dimensions", what, v.items.size()));
  std::vector<int64_t> out;
  for (const auto& x : v.items) out.push_back(as_int(*x, what));
  return out;
}

// ref: torch/_utils.py _rebuild_tensor (storage.set_ of size/stride/offset), with the bounds check
// Python gets from set_: the highest element the view touches must lie inside the storage.
PickleRef rebuild_tensor(const PickleValue& storage, const PickleValue& offset_v, const PickleValue& size_v,
                         const PickleValue& stride_v, c10::ScalarType dtype) {
  if (storage.kind != K::Storage) throw Error(fmt::format("tensor storage is a {}, not a storage", storage.type_name()));
  const int64_t offset = as_int(offset_v, "storage offset");
  const std::vector<int64_t> size = int_tuple(size_v, "tensor size"), stride = int_tuple(stride_v, "tensor stride");
  if (size.size() != stride.size())
    throw Error(fmt::format("tensor size ({}) and stride ({}) differ in length", fmt::join(size, ", "), fmt::join(stride, ", ")));
  if (offset < 0) throw Error(fmt::format("negative storage offset {}", offset));
  const int64_t item = int64_t(c10::elementSize(dtype));
  const int64_t capacity = int64_t(storage.storage.nbytes()) / item;
  bool empty = false;
  int64_t last = offset;  // highest element index touched
  int64_t numel = 1;
  for (size_t i = 0; i < size.size(); ++i) {
    if (size[i] >= 0 && __builtin_mul_overflow(numel, size[i], &numel))
      throw Error(fmt::format("tensor size ({}) has more elements than fit 64 bits", fmt::join(size, ", ")));
    if (size[i] < 0 || stride[i] < 0)
      throw Error(fmt::format("tensor size ({}) / stride ({}) has a negative entry", fmt::join(size, ", "), fmt::join(stride, ", ")));
    if (size[i] == 0) empty = true;
    int64_t reach = 0;
    if (size[i] > 0 && (__builtin_mul_overflow(size[i] - 1, stride[i], &reach) || __builtin_add_overflow(last, reach, &last)))
      throw Error(fmt::format("tensor size ({}) / stride ({}) overflows", fmt::join(size, ", "), fmt::join(stride, ", ")));
  }
  if (!empty && last >= capacity)
    throw Error(fmt::format("tensor of size ({}), stride ({}), offset {} needs {} elements but its storage holds {}",
                            fmt::join(size, ", "), fmt::join(stride, ", "), offset, last + 1, capacity));
  if (empty && offset > capacity)
    throw Error(fmt::format("storage offset {} is past the end of its storage ({} elements)", offset, capacity));
  if (storage.storage.device().is_meta())  // read_pth_metadata: shapes only
    return PickleValue::of_tensor(at::empty_strided(size, stride, at::TensorOptions().dtype(dtype).device(c10::kMeta)));
  at::Tensor t = at::empty({0}, at::TensorOptions().dtype(dtype));
  t.set_(storage.storage, offset, size, stride);
  return PickleValue::of_tensor(std::move(t));
}

// UTF-8 text of Latin-1 code points back to bytes (protocol 2's encoding of Python bytes).
std::string latin1_bytes(const std::string& utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out.push_back(char(c));
    } else if ((c & 0xE0) == 0xC0 && i + 1 < utf8.size() && c <= 0xC3) {
      out.push_back(char(((c & 0x1F) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3F)));
    } else {
      throw Error("_codecs.encode: text is not Latin-1");
    }
  }
  return out;
}

PickleRef call_role(const Allowed& a, const std::string& fn, const PickleValue& args, TorchUnpicklerHooks& hooks) {
  switch (a.role) {
    case Role::kOrderedDict: {
      expect_args(args, 0, 1, fn);
      auto d = PickleValue::dict("collections.OrderedDict");
      if (!args.items.empty()) {
        const PickleValue& pairs = *args.items[0];
        if (pairs.kind != K::List && pairs.kind != K::Tuple) throw Error("OrderedDict() argument is not a list of pairs");
        for (const auto& p : pairs.items) {
          if ((p->kind != K::Tuple && p->kind != K::List) || p->items.size() != 2)
            throw Error("OrderedDict() argument is not a list of pairs");
          d->set_item(p->items[0], p->items[1]);
        }
      }
      return d;
    }
    case Role::kRebuildTensor:
      expect_args(args, 4, 4, fn);
      return rebuild_tensor(*args.items[0], *args.items[1], *args.items[2], *args.items[3], args.items[0]->storage_dtype);
    case Role::kRebuildTensorV2:
      expect_args(args, 6, 7, fn);
      return rebuild_tensor(*args.items[0], *args.items[1], *args.items[2], *args.items[3], args.items[0]->storage_dtype);
    case Role::kRebuildTensorV3: {
      expect_args(args, 7, 8, fn);
      const PickleValue& dtype = *args.items[6];
      if (dtype.kind != K::Global || table().at(dtype.text).role != Role::kDtype)
        throw Error(fmt::format("{}: dtype argument is a {}", fn, dtype.type_name()));
      return rebuild_tensor(*args.items[0], *args.items[1], *args.items[2], *args.items[3], table().at(dtype.text).dtype);
    }
    case Role::kRebuildParameter:
    case Role::kRebuildParameterState: {
      expect_args(args, a.role == Role::kRebuildParameter ? 3 : 4, a.role == Role::kRebuildParameter ? 3 : 4, fn);
      if (args.items[0]->kind != K::Tensor) throw Error(fmt::format("{}: data is a {}", fn, args.items[0]->type_name()));
      return args.items[0];
    }
    case Role::kRebuildFromType: {
      expect_args(args, 4, 4, fn);
      const PickleValue& func = *args.items[0];
      const PickleValue& type = *args.items[1];
      if (type.kind != K::Global || table().at(type.text).role != Role::kTensorType)
        throw Error(fmt::format("{}: type {} is not a tensor type", fn, type.repr()));
      if (args.items[2]->kind != K::Tuple) throw Error(fmt::format("{}: args is not a tuple", fn));
      if (func.kind != K::Global || table().at(func.text).role == Role::kRebuildFromType)
        throw Error(fmt::format("{}: func {} is not a tensor rebuild function", fn, func.repr()));
      PickleRef t = hooks.call(func, *args.items[2]);
      if (t->kind != K::Tensor) throw Error(fmt::format("{} did not produce a tensor", fn));
      return t;
    }
    case Role::kCodecsEncode: {
      expect_args(args, 1, 2, fn);
      if (args.items[0]->kind != K::String) throw Error("_codecs.encode of a non-string");
      if (args.items.size() == 2 && (args.items[1]->kind != K::String || args.items[1]->text != "latin1"))
        throw Error("_codecs.encode: only the 'latin1' encoding is supported");
      return PickleValue::of_bytes(latin1_bytes(args.items[0]->text));
    }
    case Role::kSet: {
      expect_args(args, 0, 1, fn);
      auto list = PickleValue::list();
      if (!args.items.empty()) {
        if (args.items[0]->kind != K::List && args.items[0]->kind != K::Tuple) throw Error(fmt::format("{} of a non-list", fn));
        list->items = args.items[0]->items;
      }
      return list;
    }
    case Role::kIdentity:
      expect_args(args, 1, 2, fn);
      return args.items[0];
    // ref: torch/_weights_only_unpickler.py _get_allowed_globals (torch.Size, torch.device, Counter,
    // bytearray, complex); the values as Python would build them, without the Python types.
    case Role::kSize: {
      expect_args(args, 0, 1, fn);
      if (args.items.empty()) return PickleValue::tuple();
      std::vector<PickleRef> dims;
      for (const int64_t d : int_tuple(*args.items[0], "torch.Size")) dims.push_back(PickleValue::of_int(d));
      return PickleValue::tuple(std::move(dims));
    }
    case Role::kDevice: {
      expect_args(args, 1, 2, fn);
      if (args.items[0]->kind != K::String) throw Error(fmt::format("{}: device type is a {}", fn, args.items[0]->type_name()));
      std::string device = args.items[0]->text;
      if (args.items.size() == 2 && args.items[1]->kind != K::None)
        device += ":" + std::to_string(as_int(*args.items[1], "device index"));
      return PickleValue::of_string(device);
    }
    case Role::kCounter: {
      expect_args(args, 0, 1, fn);
      auto d = PickleValue::dict();
      if (!args.items.empty()) {
        if (!args.items[0]->is_dict()) throw Error(fmt::format("{} of a {}", fn, args.items[0]->type_name()));
        for (const auto& [k, v] : args.items[0]->entries) d->set_item(k, v);
      }
      return d;
    }
    case Role::kByteArray: {
      expect_args(args, 0, 1, fn);
      if (args.items.empty()) return PickleValue::of_bytes("");
      if (args.items[0]->kind != K::Bytes) throw Error(fmt::format("{} of a {}", fn, args.items[0]->type_name()));
      return PickleValue::of_bytes(args.items[0]->text);
    }
    case Role::kComplex: {
      expect_args(args, 0, 2, fn);
      std::vector<PickleRef> parts;
      for (const auto& x : args.items) {
        if (x->kind != K::Float && x->kind != K::Int) throw Error(fmt::format("{} of a {}", fn, x->type_name()));
        parts.push_back(x);
      }
      return PickleValue::tuple(std::move(parts));
    }
    case Role::kTensorType:
    case Role::kStorage:
    case Role::kDtype: break;
  }
  throw Error(fmt::format("calling {} is not allowed", fn));
}

}  // namespace

const std::vector<std::string>& allowed_pickle_globals() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& [name, _] : table()) n.push_back(name);
    return n;
  }();
  return names;
}

PickleRef TorchUnpicklerHooks::find_global(const std::string& module, const std::string& name) {
  const std::string q = module + "." + name;
  if (table().count(q) == 0)
    throw Error(fmt::format("global '{}' is not allowed in a checkpoint (not on the whitelist; see docs/checkpoints.md)",
                            q.substr(0, 200)));
  return PickleValue::of_global(q);
}

PickleRef TorchUnpicklerHooks::call(const PickleValue& callable, const PickleValue& args) {
  const Allowed& a = allowed(callable, "REDUCE");
  return call_role(a, callable.text, args, *this);
}

// ref: pickle.py load_build: a dict state updates the instance's __dict__ (OrderedDict has no
// __setstate__), which is where state_dict() keeps _metadata.
void TorchUnpicklerHooks::build(PickleValue& object, const PickleRef& state) {
  if (object.kind != K::Dict || object.dict_type != "collections.OrderedDict")
    throw Error(fmt::format("BUILD on a {} is not allowed", object.type_name()));
  if (state->kind == K::None) return;
  if (state->kind != K::Dict) throw Error(fmt::format("BUILD state is a {}, not a dict", state->type_name()));
  if (!object.attributes) object.attributes = PickleValue::dict();
  for (const auto& [k, v] : state->entries) object.attributes->set_item(k, v);
}

// ref: torch/serialization.py _load.persistent_load: ('storage', storage_type, key, location, numel)
PickleRef TorchUnpicklerHooks::persistent_load(const PickleRef& pid) {
  const PickleValue& p = *pid;
  if (p.kind != K::Tuple || p.items.size() != 5 || p.items[0]->kind != K::String || p.items[0]->text != "storage")
    throw Error(fmt::format("unsupported persistent id {}", p.repr(80)));
  const PickleValue& type = *p.items[1];
  if (type.kind != K::Global || table().at(type.text).role != Role::kStorage)
    throw Error(fmt::format("persistent id names {} instead of a storage type", type.repr(80)));
  if (p.items[2]->kind != K::String || p.items[3]->kind != K::String)
    throw Error(fmt::format("malformed storage persistent id {}", p.repr(80)));
  const int64_t numel = as_int(*p.items[4], "storage size");
  if (numel < 0) throw Error(fmt::format("negative storage size {}", numel));
  auto v = std::make_shared<PickleValue>();
  v->kind = K::Storage;
  v->storage_dtype = table().at(type.text).dtype;
  v->storage = loader_(p.items[2]->text, v->storage_dtype, uint64_t(numel));
  return v;
}

}  // namespace medsam

// The value tree a restricted unpickler produces: what a torch.save'd checkpoint contains, without
// any Python objects. Containers are shared (the pickle memo can reference one object twice), so
// children are shared_ptrs; the unpickler guarantees the graph is acyclic and at most
// kMaxPickleDepth deep.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Storage.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace medsam {

struct PickleValue;
using PickleRef = std::shared_ptr<PickleValue>;

constexpr int kMaxPickleDepth = 256;

struct PickleValue {
  // BigInt: an int wider than 64 bits (Python's are unbounded), kept as text ("-0x1f...") for messages;
  // nothing reads its value.
  enum class Kind { None, Bool, Int, BigInt, Float, String, Bytes, List, Tuple, Dict, Tensor, Global, Storage };

  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;                                        // String, Bytes, Global ("module.name"), BigInt
  std::vector<PickleRef> items;                            // List, Tuple
  std::vector<std::pair<PickleRef, PickleRef>> entries;    // Dict, in insertion order
  std::string dict_type = "dict";                          // Dict: "dict" or "collections.OrderedDict"
  PickleRef attributes;                                    // Dict set by BUILD (OrderedDict's _metadata)
  at::Tensor tensor;                                       // Tensor
  c10::Storage storage;                                    // Storage (bytes of one zip record)
  c10::ScalarType storage_dtype = c10::ScalarType::Byte;   // Storage: the dtype its typed class named

  static PickleRef none();
  static PickleRef of_bool(bool v);
  static PickleRef of_int(int64_t v);
  static PickleRef of_big_int(std::string hex);
  static PickleRef of_float(double v);
  static PickleRef of_string(std::string v);
  static PickleRef of_bytes(std::string v);
  static PickleRef of_tensor(at::Tensor v);
  static PickleRef of_global(std::string qualified_name);
  static PickleRef list();
  static PickleRef tuple(std::vector<PickleRef> items = {});
  static PickleRef dict(std::string type = "dict");

  bool is(Kind k) const { return kind == k; }
  bool is_dict() const { return kind == Kind::Dict; }
  bool is_tensor() const { return kind == Kind::Tensor; }
  // Dict lookup by string key; nullptr when absent or not a dict.
  const PickleValue* get(const std::string& key) const;
  // Inserts or replaces (Python dict semantics; replacement keeps the first position).
  void set_item(PickleRef key, PickleRef value);

  // "dict", "OrderedDict", "list", "tuple", "int", "str", "Tensor", ...
  std::string type_name() const;
  // A short Python-like rendering for messages and `medsam info` (tensors as dtype[shape]), cut off
  // after max_chars.
  std::string repr(size_t max_chars = 200) const;

 private:
  // Dicts' str and int keys -> entry index, made on a dict's first item: a pickle can hold millions
  // of values, most of them no dict, so the maps are not part of every value.
  struct KeyIndex {
    std::unordered_map<std::string, size_t> strings;
    std::unordered_map<int64_t, size_t> ints;
  };
  std::unique_ptr<KeyIndex> keys_;
};

}  // namespace medsam

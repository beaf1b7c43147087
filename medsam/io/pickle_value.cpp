#include "medsam/io/pickle_value.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace medsam {
namespace {

PickleRef make(PickleValue::Kind kind) {
  auto v = std::make_shared<PickleValue>();
  v->kind = kind;
  return v;
}

void render(const PickleValue& v, std::string& out, size_t max_chars) {
  using K = PickleValue::Kind;
  if (out.size() >= max_chars) return;
  switch (v.kind) {
    case K::None: out += "None"; break;
    case K::Bool: out += v.boolean ? "True" : "False"; break;
    case K::Int: out += std::to_string(v.integer); break;
    case K::BigInt: out += v.text; break;
    case K::Float: out += fmt::format("{}", v.real); break;
    case K::String: out += "'" + v.text.substr(0, max_chars) + "'"; break;
    case K::Bytes: out += fmt::format("<{} bytes>", v.text.size()); break;
    case K::Global: out += "<" + v.text + ">"; break;
    case K::Storage: out += fmt::format("<storage {} bytes>", v.storage.nbytes()); break;
    case K::Tensor:
      out += fmt::format("{}{}", v.tensor.defined() ? c10::toString(v.tensor.scalar_type()) : "undefined",
                         v.tensor.defined() ? fmt::format("[{}]", fmt::join(v.tensor.sizes(), ", ")) : "");
      break;
    case K::List:
    case K::Tuple: {
      out += v.kind == K::List ? "[" : "(";
      for (size_t i = 0; i < v.items.size() && out.size() < max_chars; ++i) {
        if (i) out += ", ";
        render(*v.items[i], out, max_chars);
      }
      out += v.kind == K::List ? "]" : ")";
      break;
    }
    case K::Dict: {
      out += "{";
      for (size_t i = 0; i < v.entries.size() && out.size() < max_chars; ++i) {
        if (i) out += ", ";
        render(*v.entries[i].first, out, max_chars);
        out += ": ";
        render(*v.entries[i].second, out, max_chars);
      }
      out += "}";
      break;
    }
  }
}

}  // namespace

PickleRef PickleValue::none() { return make(Kind::None); }
PickleRef PickleValue::of_bool(bool v) {
  auto r = make(Kind::Bool);
  r->boolean = v;
  return r;
}
PickleRef PickleValue::of_int(int64_t v) {
  auto r = make(Kind::Int);
  r->integer = v;
  return r;
}
PickleRef PickleValue::of_big_int(std::string hex) {
  auto r = make(Kind::BigInt);
  r->text = std::move(hex);
  return r;
}
PickleRef PickleValue::of_float(double v) {
  auto r = make(Kind::Float);
  r->real = v;
  return r;
}
PickleRef PickleValue::of_string(std::string v) {
  auto r = make(Kind::String);
  r->text = std::move(v);
  return r;
}
PickleRef PickleValue::of_bytes(std::string v) {
  auto r = make(Kind::Bytes);
  r->text = std::move(v);
  return r;
}
PickleRef PickleValue::of_tensor(at::Tensor v) {
  auto r = make(Kind::Tensor);
  r->tensor = std::move(v);
  return r;
}
PickleRef PickleValue::of_global(std::string qualified_name) {
  auto r = make(Kind::Global);
  r->text = std::move(qualified_name);
  return r;
}
PickleRef PickleValue::list() { return make(Kind::List); }
PickleRef PickleValue::tuple(std::vector<PickleRef> items) {
  auto r = make(Kind::Tuple);
  r->items = std::move(items);
  return r;
}
PickleRef PickleValue::dict(std::string type) {
  auto r = make(Kind::Dict);
  r->dict_type = std::move(type);
  return r;
}

const PickleValue* PickleValue::get(const std::string& key) const {
  if (kind != Kind::Dict) return nullptr;
  if (!keys_) return nullptr;
  auto it = keys_->strings.find(key);
  return it == keys_->strings.end() ? nullptr : entries[it->second].second.get();
}

void PickleValue::set_item(PickleRef key, PickleRef value) {
  // Python replaces the value of an equal key; we recognise equal str and int keys (all a checkpoint
  // uses). Other keys (tuples, floats) are appended as they come.
  if (!keys_) keys_ = std::make_unique<KeyIndex>();
  if (key->kind == Kind::String) {
    auto [it, fresh] = keys_->strings.emplace(key->text, entries.size());
    if (!fresh) {
      entries[it->second].second = std::move(value);
      return;
    }
  } else if (key->kind == Kind::Int || key->kind == Kind::Bool) {
    const int64_t k = key->kind == Kind::Int ? key->integer : int64_t(key->boolean);
    auto [it, fresh] = keys_->ints.emplace(k, entries.size());
    if (!fresh) {
      entries[it->second].second = std::move(value);
      return;
    }
  }
  entries.emplace_back(std::move(key), std::move(value));
}

std::string PickleValue::type_name() const {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::BigInt: return "int (wider than 64 bits)";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return dict_type == "dict" ? "dict" : "OrderedDict";
    case Kind::Tensor: return "Tensor";
    case Kind::Global: return "global " + text;
    case Kind::Storage: return "storage";
  }
  return "?";
}

std::string PickleValue::repr(size_t max_chars) const {
  std::string out;
  render(*this, out, max_chars);
  if (out.size() > max_chars) out = out.substr(0, max_chars) + "...";
  return out;
}

}  // namespace medsam

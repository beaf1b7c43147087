// ref: CPython Lib/pickle.py _Unpickler.load and its load_* methods; Lib/pickletools.py for the
// opcode table. Own implementation: a value stack with mark positions, a memo, and hooks for
// everything that would create Python objects.
#include "medsam/io/pickle_vm.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "medsam/core/error.h"

namespace medsam {
namespace {

using K = PickleValue::Kind;

const char* opcode_name(unsigned char op) {
  switch (op) {
    case '(': return "MARK";
    case '.': return "STOP";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 'F': return "FLOAT";
    case 'I': return "INT";
    case 'J': return "BININT";
    case 'K': return "BININT1";
    case 'L': return "LONG";
    case 'M': return "BININT2";
    case 'N': return "NONE";
    case 'P': return "PERSID";
    case 'Q': return "BINPERSID";
    case 'R': return "REDUCE";
    case 'S': return "STRING";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";
    case 'X': return "BINUNICODE";
    case 'a': return "APPEND";
    case 'b': return "BUILD";
    case 'c': return "GLOBAL";
    case 'd': return "DICT";
    case '}': return "EMPTY_DICT";
    case 'e': return "APPENDS";
    case 'g': return "GET";
    case 'h': return "BINGET";
    case 'i': return "INST";
    case 'j': return "LONG_BINGET";
    case 'l': return "LIST";
    case ']': return "EMPTY_LIST";
    case 'o': return "OBJ";
    case 'p': return "PUT";
    case 'q': return "BINPUT";
    case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";
    case 't': return "TUPLE";
    case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS";
    case 'G': return "BINFLOAT";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";
    case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";
    case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

bool is_container(const PickleValue& v) { return v.kind == K::List || v.kind == K::Tuple || v.kind == K::Dict; }

// Thrown inside the machine; Machine::run adds file, opcode and offset.
struct Fault {
  std::string what;
};

class Machine {
 public:
  Machine(const std::string& data, PickleHooks& hooks) : data_(data), hooks_(hooks) {}

  ~Machine() {
    // Break every reference between containers so that hostile shapes (cycles, very deep chains)
    // are freed without recursion. On success the result (validated: acyclic, at most
    // kMaxPickleDepth deep) is left alone, but not what the pickle built and dropped: a deep chain
    // popped before STOP would otherwise be freed recursively here and overflow the stack.
    for (const PickleRef& c : created_) {
      if (succeeded_ && result_containers_.count(c.get())) continue;
      c->items.clear();
      c->entries.clear();
      c->attributes.reset();
    }
  }

  PickleRef run() {
    while (true) {
      op_at_ = pos_;
      op_ = u8();
      if (op_ == '.') break;
      step();
    }
    PickleRef result = pop();
    validate(result);
    succeeded_ = true;
    return result;
  }

  size_t op_at() const { return op_at_; }
  unsigned char op() const { return op_; }

 private:
  [[noreturn]] static void fail(std::string what) { throw Fault{std::move(what)}; }

  // ---- input ----
  void need(uint64_t n) const {
    if (n > data_.size() - pos_) fail(fmt::format("truncated pickle (needs {} more bytes, {} left)", n, data_.size() - pos_));
  }
  unsigned char u8() {
    need(1);
    return static_cast<unsigned char>(data_[pos_++]);
  }
  uint64_t le(int bytes) {
    need(bytes);
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t(static_cast<unsigned char>(data_[pos_ + i])) << (8 * i);
    pos_ += bytes;
    return v;
  }
  std::string take(uint64_t n) {
    need(n);
    std::string s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string line() {
    const size_t end = data_.find('\n', pos_);
    if (end == std::string::npos || end - pos_ > 4096) fail("unterminated or overlong text argument");
    std::string s = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  int64_t decimal(const std::string& text) {
    std::string t = text;
    if (!t.empty() && t.back() == 'L') t.pop_back();
    if (t.empty() || t.size() > 19) fail(fmt::format("bad or out-of-range integer '{}'", text.substr(0, 40)));
    size_t i = (t[0] == '-' || t[0] == '+') ? 1 : 0;
    if (i == t.size()) fail("bad integer");
    uint64_t magnitude = 0;
    for (; i < t.size(); ++i) {
      if (t[i] < '0' || t[i] > '9') fail(fmt::format("bad integer '{}'", text.substr(0, 40)));
      magnitude = magnitude * 10 + uint64_t(t[i] - '0');  // 19 digits fit 64 unsigned bits
    }
    // The binary LONG1 path refuses what does not fit int64; the text path agrees.
    const bool negative = t[0] == '-';
    if (magnitude > uint64_t(INT64_MAX) + (negative ? 1 : 0))
      fail(fmt::format("integer '{}' does not fit 64 bits", text.substr(0, 40)));
    return negative ? int64_t(~magnitude + 1) : int64_t(magnitude);
  }
  // Two's-complement little-endian integer of n bytes (LONG1/LONG4). Wider than 64 bits: a BigInt (a
  // value torch.load accepts, e.g. a seed; nothing here reads one).
  PickleRef long_value(uint64_t n) {
    if (n <= 8) return PickleValue::of_int(long_bytes(n));
    if (n > 4096) fail(fmt::format("integer of {} bytes", n));
    std::string b = take(n);
    const bool negative = static_cast<unsigned char>(b.back()) & 0x80;
    if (negative) {  // magnitude = two's complement negation
      bool carry = true;
      for (auto& c : b) {
        unsigned v = static_cast<unsigned char>(~static_cast<unsigned char>(c));
        if (carry) carry = (++v > 0xff);
        c = static_cast<char>(v & 0xff);
      }
    }
    std::string hex;
    for (size_t i = b.size(); i-- > 0;) hex += fmt::format("{:02x}", static_cast<unsigned char>(b[i]));
    const size_t first = hex.find_first_not_of('0');
    return PickleValue::of_big_int((negative ? "-0x" : "0x") + (first == std::string::npos ? "0" : hex.substr(first)));
  }
  int64_t long_bytes(uint64_t n) {
    const std::string b = take(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(static_cast<unsigned char>(b[i])) << (8 * i);
    if (n > 0 && n < 8 && (static_cast<unsigned char>(b[n - 1]) & 0x80)) v |= ~uint64_t(0) << (8 * n);
    return static_cast<int64_t>(v);
  }

  // ---- stack ----
  size_t base() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(PickleRef v) {
    // Every value is a few hundred bytes, so a pickle of one-byte opcodes could take hundreds of times
    // its size; checkpoints push far fewer (a ViT-H training checkpoint: ~100k).
    if (++pushes_ > kMaxPushes)
      fail(fmt::format("more than {} values pushed: far more than a checkpoint holds (a broken or hostile pickle)", kMaxPushes));
    if (is_container(*v)) created_.push_back(v);
    stack_.push_back(std::move(v));
  }
  PickleRef pop() {
    if (stack_.size() <= base()) fail("stack underflow");
    PickleRef v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  PickleRef& top() {
    if (stack_.size() <= base()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<PickleRef> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    const size_t b = marks_.back();
    marks_.pop_back();
    std::vector<PickleRef> items(std::make_move_iterator(stack_.begin() + b), std::make_move_iterator(stack_.end()));
    stack_.resize(b);
    return items;
  }
  PickleValue& top_of(K kind, const char* what) {
    PickleValue& v = *top();
    if (v.kind != kind) fail(fmt::format("expected a {} below the operands, found {}", what, v.type_name()));
    return v;
  }

  // ---- memo ----
  void memo_put(uint64_t index) { memo_[index] = top(); }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail(fmt::format("memo entry {} was never stored", index));
    push(it->second);
  }

  void set_items(PickleValue& dict, std::vector<PickleRef>& items) {
    if (items.size() % 2 != 0) fail("odd number of items for a dict");
    for (size_t i = 0; i < items.size(); i += 2) dict.set_item(std::move(items[i]), std::move(items[i + 1]));
  }

  void step() {
    switch (op_) {
      case 0x80: {  // PROTO
        const int proto = u8();
        if (proto > 5) fail(fmt::format("unsupported pickle protocol {}", proto));
        break;
      }
      case 0x95: le(8); break;  // FRAME: a hint for buffered readers; we hold the whole pickle
      case '(': marks_.push_back(stack_.size()); break;
      case '0':
        if (stack_.size() > base()) stack_.pop_back();
        else pop_mark();
        break;
      case '1': pop_mark(); break;
      case '2': push(top()); break;
      case 'N': push(PickleValue::none()); break;
      case 0x88: push(PickleValue::of_bool(true)); break;
      case 0x89: push(PickleValue::of_bool(false)); break;
      case 'I': {
        const std::string t = line();
        if (t == "01") push(PickleValue::of_bool(true));
        else if (t == "00") push(PickleValue::of_bool(false));
        else push(PickleValue::of_int(decimal(t)));
        break;
      }
      case 'L': push(PickleValue::of_int(decimal(line()))); break;
      case 'J': push(PickleValue::of_int(int32_t(uint32_t(le(4))))); break;
      case 'K': push(PickleValue::of_int(int64_t(le(1)))); break;
      case 'M': push(PickleValue::of_int(int64_t(le(2)))); break;
      case 0x8a: push(long_value(le(1))); break;
      case 0x8b: push(long_value(le(4))); break;
      case 'F': {
        const std::string t = line();
        char* end = nullptr;
        const double v = std::strtod(t.c_str(), &end);
        if (t.empty() || end != t.c_str() + t.size()) fail(fmt::format("bad float '{}'", t.substr(0, 40)));
        push(PickleValue::of_float(v));
        break;
      }
      case 'G': {
        need(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(data_[pos_ + i]);
        pos_ += 8;
        double v;
        std::memcpy(&v, &bits, 8);
        push(PickleValue::of_float(v));
        break;
      }
      case 0x8c: push(PickleValue::of_string(take(le(1)))); break;
      case 'X': push(PickleValue::of_string(take(le(4)))); break;
      case 0x8d: push(PickleValue::of_string(take(le(8)))); break;
      case 'U': push(PickleValue::of_string(take(le(1)))); break;  // Python 2 str, decoded as text
      case 'T': {
        const uint64_t n = le(4);
        if (n & 0x80000000u) fail("negative BINSTRING length");
        push(PickleValue::of_string(take(n)));
        break;
      }
      case 'C': push(PickleValue::of_bytes(take(le(1)))); break;
      case 'B': push(PickleValue::of_bytes(take(le(4)))); break;
      case 0x8e: push(PickleValue::of_bytes(take(le(8)))); break;
      case 0x96: push(PickleValue::of_bytes(take(le(8)))); break;  // bytearray, kept as bytes
      case ')': push(PickleValue::tuple()); break;
      case 't': push(PickleValue::tuple(pop_mark())); break;
      case 0x85:
      case 0x86:
      case 0x87: {
        const size_t n = op_ - 0x84;
        if (stack_.size() < base() + n) fail("stack underflow");
        std::vector<PickleRef> items(stack_.end() - n, stack_.end());
        stack_.resize(stack_.size() - n);
        push(PickleValue::tuple(std::move(items)));
        break;
      }
      case ']': push(PickleValue::list()); break;
      case 0x8f: push(PickleValue::list()); break;  // EMPTY_SET: kept as a list
      case 'l':
      case 0x91: {  // LIST, FROZENSET
        auto list = PickleValue::list();
        list->items = pop_mark();
        push(list);
        break;
      }
      case 'a': {
        PickleRef v = pop();
        top_of(K::List, "list").items.push_back(std::move(v));
        break;
      }
      case 'e':
      case 0x90: {  // APPENDS, ADDITEMS
        std::vector<PickleRef> items = pop_mark();
        auto& list = top_of(K::List, "list").items;
        for (auto& v : items) list.push_back(std::move(v));
        break;
      }
      case '}': push(PickleValue::dict()); break;
      case 'd': {
        auto dict = PickleValue::dict();
        std::vector<PickleRef> items = pop_mark();
        set_items(*dict, items);
        push(dict);
        break;
      }
      case 's': {
        PickleRef value = pop();
        PickleRef key = pop();
        top_of(K::Dict, "dict").set_item(std::move(key), std::move(value));
        break;
      }
      case 'u': {
        std::vector<PickleRef> items = pop_mark();
        set_items(top_of(K::Dict, "dict"), items);
        break;
      }
      case 'p': memo_put(uint64_t(decimal(line()))); break;
      case 'q': memo_put(le(1)); break;
      case 'r': memo_put(le(4)); break;
      case 0x94: memo_put(memo_.size()); break;
      case 'g': memo_get(uint64_t(decimal(line()))); break;
      case 'h': memo_get(le(1)); break;
      case 'j': memo_get(le(4)); break;
      case 'c': {
        const std::string module = line();
        const std::string name = line();
        push(hooks_.find_global(module, name));
        break;
      }
      case 0x93: {
        PickleRef name = pop();
        PickleRef module = pop();
        if (module->kind != K::String || name->kind != K::String) fail("STACK_GLOBAL needs two strings");
        push(hooks_.find_global(module->text, name->text));
        break;
      }
      case 'R':
      case 0x81: {  // REDUCE, NEWOBJ
        PickleRef args = pop();
        PickleRef callable = pop();
        if (args->kind != K::Tuple) fail(fmt::format("arguments are a {}, not a tuple", args->type_name()));
        try {
          push(hooks_.call(*callable, *args));
        } catch (const Error& e) {
          // In a state dict the key sits just below the call: name it (the file's key, not a record number).
          if (stack_.size() > base() && stack_.back()->kind == K::String)
            throw Error(fmt::format("{} (the value of key '{}')", e.what(), stack_.back()->text.substr(0, 200)));
          throw;
        }
        break;
      }
      case 0x92: {  // NEWOBJ_EX
        PickleRef kwargs = pop();
        PickleRef args = pop();
        PickleRef cls = pop();
        if (args->kind != K::Tuple || kwargs->kind != K::Dict || !kwargs->entries.empty())
          fail("NEWOBJ_EX with keyword arguments is not supported");
        push(hooks_.call(*cls, *args));
        break;
      }
      case 'b': {
        PickleRef state = pop();
        hooks_.build(*top(), state);
        if (top()->attributes) created_.push_back(top()->attributes);
        break;
      }
      case 'Q': push(hooks_.persistent_load(pop())); break;
      case 'P': push(hooks_.persistent_load(PickleValue::of_string(line()))); break;
      default:
        if (const char* name = opcode_name(op_)) fail(fmt::format("opcode {} is not allowed", name));
        fail(fmt::format("unknown opcode 0x{:02x}", op_));
    }
  }

  // The result must be acyclic and at most kMaxPickleDepth deep: iterative DFS over containers.
  void validate(const PickleRef& root) {
    struct Frame {
      const PickleValue* node;
      std::vector<const PickleValue*> children;
      size_t next = 0;
    };
    std::unordered_map<const PickleValue*, bool> done;  // false: on the current path
    std::vector<Frame> path;
    auto enter = [&](const PickleValue* v) {
      if (!is_container(*v)) return;
      auto it = done.find(v);
      if (it != done.end()) {
        if (!it->second) fail("the pickled object contains itself (a cycle)");
        return;
      }
      if (path.size() >= size_t(kMaxPickleDepth)) fail(fmt::format("nesting deeper than {}", kMaxPickleDepth));
      done.emplace(v, false);
      Frame f{v, {}, 0};
      for (const auto& c : v->items) f.children.push_back(c.get());
      for (const auto& [k, val] : v->entries) {
        f.children.push_back(k.get());
        f.children.push_back(val.get());
      }
      if (v->attributes) f.children.push_back(v->attributes.get());
      path.push_back(std::move(f));
    };
    enter(root.get());
    while (!path.empty()) {
      Frame& f = path.back();
      if (f.next < f.children.size()) {
        enter(f.children[f.next++]);
      } else {
        done[f.node] = true;
        path.pop_back();
      }
    }
    for (const auto& [node, _] : done) result_containers_.insert(node);
  }

  const std::string& data_;
  PickleHooks& hooks_;
  size_t pos_ = 0;
  size_t op_at_ = 0;
  unsigned char op_ = 0;
  std::vector<PickleRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleRef> memo_;
  std::vector<PickleRef> created_;
  std::unordered_set<const PickleValue*> result_containers_;  // reachable from the result (validate)
  static constexpr uint64_t kMaxPushes = uint64_t(1) << 21;
  uint64_t pushes_ = 0;
  bool succeeded_ = false;
};

}  // namespace

PickleRef unpickle(const std::string& data, const std::string& file, PickleHooks& hooks) {
  Machine m(data, hooks);
  auto where = [&] {
    const char* name = opcode_name(m.op());
    return fmt::format("at byte {} (opcode {})", m.op_at(), name ? name : fmt::format("0x{:02x}", m.op()));
  };
  try {
    return m.run();
  } catch (const Fault& f) {
    throw Error(fmt::format("{}: bad pickle: {} {}", file, f.what, where()));
  } catch (const Error& e) {
    // Errors of the storage loader name the file already.
    const std::string what = e.what();
    if (what.rfind(file + ": ", 0) == 0) throw Error(fmt::format("{} {}", what, where()));
    throw Error(fmt::format("{}: {} {}", file, what, where()));
  } catch (const c10::Error& e) {
    throw Error(fmt::format("{}: {} {}", file, e.what_without_backtrace(), where()));
  } catch (const std::exception& e) {
    throw Error(fmt::format("{}: {} {}", file, e.what(), where()));
  }
}

}  // namespace medsam

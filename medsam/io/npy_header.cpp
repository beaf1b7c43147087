#include "medsam/io/npy_header.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

#include "medsam/core/error.h"
#include "medsam/io/zip.h"

namespace medsam {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr uint64_t kMaxHeader = 1u << 20;  // numpy itself refuses headers over 10 kB by default

struct Descr {
  const char* code;  // kind + itemsize, as in '<f4'
  c10::ScalarType dtype;
};
constexpr Descr kDescrs[] = {
    {"f2", c10::ScalarType::Half},  {"f4", c10::ScalarType::Float}, {"f8", c10::ScalarType::Double},
    {"i1", c10::ScalarType::Char},  {"i2", c10::ScalarType::Short}, {"i4", c10::ScalarType::Int},
    {"i8", c10::ScalarType::Long},  {"u1", c10::ScalarType::Byte},  {"b1", c10::ScalarType::Bool},
    // Unsigned types LibTorch 1.13 lacks: read into the signed type of their size, then widened
    // (NpyHeader::unsigned_bits). After the signed ones, so that writing int16 stays '<i2'.
    {"u2", c10::ScalarType::Short}, {"u4", c10::ScalarType::Int},   {"u8", c10::ScalarType::Long},
};

// A just-big-enough parser for the header's dict literal: string keys; values that are strings,
// True/False, or tuples of non-negative integers.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& file) : s_(text), file_(file) {}

  void parse(NpyHeader& h, std::string& descr) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        h.shape = tuple_of_ints();
        have_shape = true;
      } else {
        fail(fmt::format("unexpected key '{}'", key));
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') fail("expected ',' or '}'");
    }
    if (!have_descr || !have_order || !have_shape) fail("missing one of 'descr', 'fortran_order', 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("{}: bad .npy header ({} at character {}): {}", file_, what, pos_, s_));
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(fmt::format("expected '{}'", c));
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    const size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  std::vector<int64_t> tuple_of_ints() {
    std::vector<int64_t> out;
    expect('(');
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a dimension");
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (v > (int64_t(1) << 50)) fail("dimension too large");
        v = v * 10 + (s_[pos_++] - '0');
      }
      if (peek() == 'L') ++pos_;  // Python 2 longs
      out.push_back(v);
      if (out.size() > 64) fail("more than 64 dimensions");
      skip_space();
      if (peek() == ',') ++pos_;
      else if (peek() != ')') fail("expected ',' or ')'");
    }
    ++pos_;
    return out;
  }

  const std::string& s_;
  const std::string& file_;
  size_t pos_ = 0;
};

}  // namespace

NpyHeader read_npy_header(const ByteSource& source) {
  const std::string& file = source.name();
  unsigned char pre[10];
  if (source.size() < sizeof pre) throw Error(fmt::format("{}: not a .npy file (only {} bytes)", file, source.size()));
  source.read(0, pre, sizeof pre);
  if (std::string(reinterpret_cast<char*>(pre), kMagicLen) != std::string(kMagic, kMagicLen))
    throw Error(fmt::format("{}: not a .npy file (no \\x93NUMPY magic)", file));
  const int major = pre[6];
  uint64_t header_len = 0, header_at = 0;
  if (major == 1) {
    header_len = uint64_t(pre[8]) | (uint64_t(pre[9]) << 8);
    header_at = 10;
  } else if (major == 2 || major == 3) {
    unsigned char more[2];
    if (source.size() < 12) throw Error(fmt::format("{}: truncated .npy header", file));
    source.read(10, more, 2);
    header_len = uint64_t(pre[8]) | (uint64_t(pre[9]) << 8) | (uint64_t(more[0]) << 16) | (uint64_t(more[1]) << 24);
    header_at = 12;
  } else {
    throw Error(fmt::format("{}: unsupported .npy format version {}.{}", file, major, int(pre[7])));
  }
  if (header_len > kMaxHeader) throw Error(fmt::format("{}: .npy header of {} bytes is too large", file, header_len));
  if (header_at + header_len > source.size())
    throw Error(fmt::format("{}: truncated .npy header ({} bytes announced, file has {})", file, header_len,
                            source.size()));
  std::string text(header_len, '\0');
  source.read(header_at, text.data(), header_len);

  NpyHeader h;
  std::string descr;
  HeaderParser(text, file).parse(h, descr);
  if (descr.size() != 3) throw Error(fmt::format("{}: unsupported .npy dtype '{}'", file, descr));
  const char order = descr[0];
  bool found = false;
  for (const Descr& d : kDescrs) {
    if (descr.compare(1, 2, d.code) == 0) {
      h.dtype = d.dtype;
      h.unsigned_bits = d.code[0] == 'u' && d.dtype != c10::ScalarType::Byte ? 8 * (d.code[1] - '0') : 0;
      found = true;
    }
  }
  if (!found || (order != '<' && order != '>' && order != '|' && order != '='))
    throw Error(fmt::format("{}: unsupported .npy dtype '{}' (supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1)", file,
                            descr));
  h.byte_swap = order == '>' && c10::elementSize(h.dtype) > 1;
  h.data_offset = header_at + header_len;

  uint64_t count = 1;
  for (int64_t d : h.shape) {
    if (d != 0 && count > (uint64_t(1) << 62) / uint64_t(d))
      throw Error(fmt::format("{}: .npy shape ({}) is too large", file, fmt::join(h.shape, ", ")));
    count *= uint64_t(d);
  }
  h.data_bytes = count * c10::elementSize(h.dtype);
  if (h.data_bytes > source.size() - h.data_offset)
    throw Error(fmt::format("{}: truncated .npy data (shape ({}) of {} needs {} bytes, file has {})", file,
                            fmt::join(h.shape, ", "), descr, h.data_bytes, source.size() - h.data_offset));
  return h;
}

std::string npy_header_bytes(c10::ScalarType dtype, const std::vector<int64_t>& shape, const std::string& name) {
  const Descr* descr = nullptr;
  for (const Descr& d : kDescrs)
    if (d.dtype == dtype && !descr) descr = &d;  // the first: int16 is '<i2', never the widened '<u2' entry
  if (!descr) throw Error(fmt::format("{}: cannot write dtype {} to .npy", name, c10::toString(dtype)));
  const char order = c10::elementSize(dtype) == 1 ? '|' : '<';
  std::string shape_text = "(";
  for (size_t i = 0; i < shape.size(); ++i) shape_text += fmt::format("{}{}", i ? ", " : "", shape[i]);
  if (shape.size() == 1) shape_text += ",";
  shape_text += ")";
  std::string dict =
      fmt::format("{{'descr': '{}{}', 'fortran_order': False, 'shape': {}, }}", order, descr->code, shape_text);
  // numpy leaves room for the first axis to grow to 21 digits (so files can be appended in place);
  // doing the same makes our files byte-identical to np.save's.
  if (!shape.empty()) dict.append(21 - std::min<size_t>(21, std::to_string(shape[0]).size()), ' ');
  const bool v2 = dict.size() + 11 > 0xFFFF;
  const size_t prefix = v2 ? 12 : 10;
  const size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string out(kMagic, kMagicLen);
  out.push_back(char(v2 ? 2 : 1));
  out.push_back(0);
  const uint32_t len = uint32_t(dict.size());
  out.push_back(char(len & 0xFF));
  out.push_back(char((len >> 8) & 0xFF));
  if (v2) {
    out.push_back(char((len >> 16) & 0xFF));
    out.push_back(char((len >> 24) & 0xFF));
  }
  return out + dict;
}

}  // namespace medsam

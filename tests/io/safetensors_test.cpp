// safetensors: round trips, the exact on-disk layout, validation of hostile headers, and a reader
// written independently in Python (json + numpy, following the format description).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <fstream>
#include <random>

#include "medsam/core/error.h"
#include "medsam/io/safetensors.h"
#include "tests/io/python_helper.h"
#include "tests/io/sam_keys.h"

using namespace medsam;

namespace {

// 8-byte little-endian length + header text + data.
std::string file_bytes(const std::string& header, const std::string& data) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(char((header.size() >> (8 * i)) & 0xFF));
  return out + header + data;
}

std::string error_of(const std::string& bytes) {
  try {
    parse_safetensors(bytes, "x.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("safetensors round trip keeps every dtype, shape, value and the metadata", "[io][safetensors]") {
  const std::string path = test::temp_dir("st_roundtrip") + "/a.safetensors";
  torch::manual_seed(3);
  NamedTensors tensors{{"f32", torch::randn({2, 3})},
                       {"f16", torch::randn({5}).to(at::kHalf)},
                       {"bf16", torch::randn({4, 1}).to(at::kBFloat16)},
                       {"f64", torch::randn({3}, at::kDouble)},
                       {"i64", torch::arange(-4, 4, at::kLong)},
                       {"i32", torch::arange(3, at::kInt)},
                       {"i16", torch::arange(3, at::kShort)},
                       {"i8", torch::arange(-2, 2, at::kChar)},
                       {"u8", torch::arange(3, at::kByte)},
                       {"flag", torch::tensor({true, false, true})},
                       {"scalar", torch::tensor(1.5f)},
                       {"empty", torch::zeros({0, 4})},
                       {"view", torch::arange(12, at::kFloat).reshape({3, 4}).t()}};
  write_safetensors(path, tensors, {{"arch", "tiny"}, {"format", "pt"}});
  const SafetensorsFile back = read_safetensors(path);
  REQUIRE(back.tensors.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    INFO(name);
    auto it = std::find_if(back.tensors.begin(), back.tensors.end(), [&](const auto& p) { return p.first == name; });
    REQUIRE(it != back.tensors.end());
    CHECK(it->second.scalar_type() == t.scalar_type());
    CHECK(torch::equal(it->second, t));
  }
  CHECK(back.metadata == StringPairs{{"arch", "tiny"}, {"format", "pt"}});
  CHECK(looks_like_safetensors_file(path));
}

TEST_CASE("safetensors layout: 8-byte length, space-padded JSON header, tensors aligned by dtype size",
          "[io][safetensors]") {
  const std::string path = test::temp_dir("st_layout") + "/b.safetensors";
  write_safetensors(path, {{"b", torch::tensor({true})}, {"a", torch::tensor({1.0}, at::kDouble)}});
  const std::string bytes = test::slurp(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[size_t(i)]);
  CHECK(n % 8 == 0);
  CHECK(bytes.size() == 8 + n + 8 + 1);
  const std::string header = bytes.substr(8, n);
  // The 8-byte double comes first (offset 0), the bool after it.
  CHECK_THAT(header, Catch::Contains(R"("a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]})"));
  CHECK_THAT(header, Catch::Contains(R"("b":{"dtype":"BOOL","shape":[1],"data_offsets":[8,9]})"));
}

TEST_CASE("safetensors headers that lie are refused with the tensor and fault named", "[io][safetensors]") {
  const std::string four(16, '\0');
  CHECK(error_of(file_bytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", four)) == "no error");
  CHECK_THAT(error_of(file_bytes(R"({"w":{"dtype":"F32","shape":[5],"data_offsets":[0,16]}})", four)),
             Catch::Contains("x.safetensors") && Catch::Contains("'w'") && Catch::Contains("needs 20"));
  CHECK_THAT(error_of(file_bytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", four.substr(0, 12))),
             Catch::Contains("truncated"));
  CHECK_THAT(error_of(file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                 std::string(12, '\0'))),
             Catch::Contains("'b'") && Catch::Contains("overlap"));
  CHECK_THAT(error_of(file_bytes(R"({"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0'))),
             Catch::Contains("unsupported dtype 'C64'"));
  CHECK_THAT(error_of(file_bytes(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, '\0'))),
             Catch::Contains("negative"));
  CHECK_THAT(error_of(file_bytes("{not json", "")), Catch::Contains("not valid JSON"));
  CHECK_THAT(error_of(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10)), Catch::Contains("too large"));
  CHECK_THAT(error_of(file_bytes(R"({"__metadata__":{"n":3}})", "")), Catch::Contains("not a string"));
}

TEST_CASE("safetensors: an empty tensor at another's offset loads, a name given twice is refused",
          "[io][safetensors]") {
  // The reference orders entries by (begin, end), so "a" ([0, 0]) comes before "b" ([0, 16]).
  CHECK(error_of(file_bytes(R"({"b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                            R"("a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})",
                            std::string(16, '\0'))) == "no error");
  CHECK_THAT(error_of(file_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                 R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                 std::string(8, '\0'))),
             Catch::Contains("x.safetensors: safetensors header names 'a' twice"));
}

TEST_CASE("mutated safetensors files load or throw medsam::Error", "[io][safetensors][fuzz]") {
  const std::string path = test::temp_dir("st_fuzz") + "/seed.safetensors";
  write_safetensors(path, {{"w", torch::randn({4, 4})}, {"b", torch::tensor({true, false})}, {"h", torch::ones({3}, at::kHalf)}},
                    {{"arch", "tiny"}});
  const std::string seed = test::slurp(path);
  std::mt19937_64 rng(11);
  int refused = 0;
  for (int i = 0; i < 1500; ++i) {
    std::string s = seed;
    if (i % 5 == 4) {
      s.resize(rng() % s.size());
    } else {
      for (int e = 0; e < 1 + int(rng() % 3); ++e) s[rng() % s.size()] = "0123456789{}[],:\"FBIU \xff\x00"[rng() % 23];
    }
    try {
      parse_safetensors(s, "fuzz.safetensors");
    } catch (const Error&) {
      ++refused;
    } catch (const std::exception& e) {
      FAIL("case " << i << " threw a non-medsam exception: " << e.what());
    }
  }
  CHECK(refused > 0);
}

TEST_CASE("an independent Python reader of the format reads our safetensors", "[io][safetensors][python]") {
  const std::string python = test::python_with("numpy");
  if (python.empty()) {
    WARN("python3 with numpy not found: skipping safetensors interop");
    return;
  }
  const std::string dir = test::temp_dir("st_python");
  write_safetensors(dir + "/o.safetensors", {{"w", torch::arange(6, at::kFloat).reshape({2, 3})}, {"i", torch::arange(4, at::kLong)}},
                    {{"arch", "vit_b"}});
  std::ofstream(dir + "/read.py") << R"(import sys, json, struct, numpy as np
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
data = b[8 + n:]
assert h['__metadata__'] == {'arch': 'vit_b'}
kinds = {'F32': '<f4', 'I64': '<i8'}
out = {}
for k, v in h.items():
    if k == '__metadata__': continue
    s, e = v['data_offsets']
    out[k] = np.frombuffer(data[s:e], dtype=kinds[v['dtype']]).reshape(v['shape'])
assert out['w'].tolist() == [[0, 1, 2], [3, 4, 5]] and out['i'].tolist() == [0, 1, 2, 3]
print('ok')
)";
  const auto r = test::run_command(python + " " + dir + "/read.py " + dir + "/o.safetensors");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  const std::string st = test::python_with("safetensors");
  if (st.empty()) WARN("the safetensors Python package is not installed: checked with an independent reader only");
}

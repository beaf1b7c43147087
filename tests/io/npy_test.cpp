// .npy/.npz: the fixtures' reference arrays, round trips, NumPy's own files, and readable errors.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>

#include "medsam/core/error.h"
#include "medsam/io/npy.h"
#include "medsam/io/zip.h"
#include "tests/io/python_helper.h"
#include "tests/support/run_command.h"

using namespace medsam;

namespace {
std::string fixture(const std::string& rel) { return std::string(MEDSAM_FIXTURES_DIR) + "/" + rel; }
}  // namespace

TEST_CASE("read_npy reads the sam_tiny reference embedding (1,32,16,16) float32", "[io][npy]") {
  const at::Tensor e = read_npy(fixture("sam_tiny/case_z70/embedding.npy"));
  CHECK(e.sizes() == at::IntArrayRef({1, 32, 16, 16}));
  CHECK(e.scalar_type() == at::kFloat);
  CHECK(e.is_contiguous());
  CHECK(std::isfinite(e.abs().sum().item<double>()));
}

TEST_CASE("write_npy then read_npy is bit-identical for every supported dtype", "[io][npy]") {
  const std::string dir = test::temp_dir("npy_roundtrip");
  torch::manual_seed(1);
  const at::Tensor base = torch::randn({3, 4, 5}) * 100;
  for (auto dtype : {at::kFloat, at::kDouble, at::kHalf, at::kChar, at::kShort, at::kInt, at::kLong, at::kByte,
                     at::kBool}) {
    INFO(c10::toString(dtype));
    const at::Tensor t = base.to(dtype);
    write_npy(dir + "/a.npy", t);
    const at::Tensor back = read_npy(dir + "/a.npy");
    CHECK(back.scalar_type() == dtype);
    CHECK(torch::equal(back, t));
  }
  // 0-d, 1-d, empty and non-contiguous inputs keep their shape and values.
  for (const at::Tensor& t : {torch::tensor(3.5), torch::arange(7), torch::zeros({0, 3}), base.transpose(0, 2)}) {
    write_npy(dir + "/b.npy", t);
    CHECK(torch::equal(read_npy(dir + "/b.npy"), t));
  }
}

namespace {
// A v1.0 header around `dict`, padded with spaces and a newline to a multiple of 64.
std::string v1_header(std::string dict) {
  const size_t total = (10 + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict.push_back('\n');
  return std::string("\x93NUMPY\x01\x00", 8) + char(dict.size() & 0xFF) + char(dict.size() >> 8) + dict;
}
}  // namespace

TEST_CASE("write_npy emits numpy's exact v1.0 header: 64-byte aligned, newline-terminated", "[io][npy]") {
  const std::string bytes = format_npy(torch::zeros({2, 3}, at::kFloat));
  const std::string expect_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  CHECK(bytes.substr(10, expect_dict.size()) == expect_dict);
  CHECK(bytes.size() == 128 + 2 * 3 * 4);  // np.save: 128-byte header for small shapes
  CHECK(bytes[127] == '\n');
  CHECK(format_npy(torch::zeros({5}, at::kByte)).find("'descr': '|u1'") != std::string::npos);
  CHECK(format_npy(torch::zeros({5}, at::kByte)).find("'shape': (5,)") != std::string::npos);
}

TEST_CASE("read_npy transposes fortran_order data and swaps big-endian data", "[io][npy]") {
  // A 2x3 int32 array [[0,1,2],[3,4,5]] stored column-major and big-endian: 0 3 1 4 2 5.
  std::string bytes = v1_header("{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3), }");
  for (int v : {0, 3, 1, 4, 2, 5}) bytes += std::string("\0\0\0", 3) + char(v);
  const at::Tensor t = parse_npy(bytes, "f.npy");
  CHECK(torch::equal(t, torch::arange(6, at::kInt).reshape({2, 3})));
  CHECK(t.is_contiguous());
}

TEST_CASE("read_npy widens uint16 and uint32 (LibTorch 1.13 has neither) and keeps their values", "[io][npy]") {
  // 65535 and 40000 as little-endian uint16; a uint16 label map of many organs, or 16-bit MR intensities.
  std::string u2 = v1_header("{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }");
  u2 += std::string("\xff\xff\x40\x9c", 4);
  const at::Tensor t2 = parse_npy(u2, "gts.npy");
  CHECK(t2.scalar_type() == at::kInt);
  CHECK(torch::equal(t2, torch::tensor({65535, 40000}, at::kInt)));
  std::string u4 = v1_header("{'descr': '>u4', 'fortran_order': False, 'shape': (1,), }");  // big-endian too
  u4 += std::string("\xff\xff\xff\xfe", 4);
  const at::Tensor t4 = parse_npy(u4, "u4.npy");
  CHECK(t4.scalar_type() == at::kLong);
  CHECK(t4.item<int64_t>() == 4294967294LL);
  std::string u8 = v1_header("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }");
  u8 += std::string(8, '\xff');
  CHECK_THROWS_WITH(parse_npy(u8, "u8.npy"), Catch::Contains("u8.npy: uint64 .npy data holds values above int64"));
  // Writing int16 still says '<i2'.
  CHECK(format_npy(torch::zeros({1}, at::kShort)).find("'descr': '<i2'") != std::string::npos);
}

TEST_CASE("read_npy accepts format versions 2.0 and 3.0", "[io][npy]") {
  for (char major : {char(2), char(3)}) {
    std::string dict = "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }";
    dict.append((12 + dict.size() + 1 + 63) / 64 * 64 - 12 - dict.size() - 1, ' ');
    dict.push_back('\n');
    std::string bytes = std::string("\x93NUMPY", 6) + major + '\0' + char(dict.size()) + std::string(3, '\0') + dict +
                        std::string("\x07\x00\x09\x01", 4);
    CHECK(torch::equal(parse_npy(bytes, "v.npy"), torch::tensor({7, 265}, at::kShort)));
  }
}

TEST_CASE("read_npy errors name the file and the fault", "[io][npy]") {
  const std::string good = format_npy(torch::ones({4, 4}));
  CHECK_THROWS_WITH(parse_npy("hello world", "x.npy"), Catch::Contains("x.npy") && Catch::Contains("magic"));
  CHECK_THROWS_WITH(parse_npy(good.substr(0, good.size() - 1), "t.npy"),
                    Catch::Contains("t.npy") && Catch::Contains("truncated"));
  std::string bad_dtype = good;
  bad_dtype.replace(bad_dtype.find("<f4"), 3, "<c8");
  CHECK_THROWS_WITH(parse_npy(bad_dtype, "c.npy"), Catch::Contains("c.npy") && Catch::Contains("'<c8'"));
  CHECK_THROWS_WITH(read_npy("/nonexistent/dir/a.npy"), Catch::Contains("/nonexistent/dir/a.npy"));
  CHECK_THROWS_AS(parse_npy(good.substr(0, 30), "h.npy"), medsam::Error);
}

TEST_CASE("npz round trip keeps names, order and values", "[io][npy]") {
  const std::string path = test::temp_dir("npz") + "/a.npz";
  NamedTensors arrays{{"imgs", torch::rand({2, 8, 8})}, {"gts", torch::randint(0, 5, {2, 8, 8}, at::kByte)},
                      {"spacing", torch::tensor({1.0, 1.0, 2.5}, at::kDouble)}};
  write_npz(path, arrays);
  const NamedTensors back = read_npz(path);
  REQUIRE(back.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(back[i].first == arrays[i].first);
    CHECK(torch::equal(back[i].second, arrays[i].second));
  }
}

TEST_CASE("read_npz with wanted names parses only those, so an unreadable member elsewhere does no harm",
          "[io][npy]") {
  // A CVPR-style case with an object array of text prompts beside imgs and boxes.
  const std::string path = test::temp_dir("npz_wanted") + "/case.npz";
  {
    ZipWriter zip(path, 64);
    for (const auto& [name, tensor] : NamedTensors{{"imgs", torch::ones({4, 4}, at::kByte)},
                                                  {"boxes", torch::tensor({{0.0, 0.0, 2.0, 2.0}})}}) {
      const std::string bytes = format_npy(tensor);
      zip.add(name + ".npy", bytes.data(), bytes.size());
    }
    const std::string object = v1_header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }") + "pickled";
    zip.add("text_prompts.npy", object.data(), object.size());
    zip.finish();
  }
  CHECK_THROWS_WITH(read_npz(path), Catch::Contains("text_prompts.npy") && Catch::Contains("'|O'"));
  const NamedTensors wanted = read_npz(path, {"boxes", "imgs"});
  REQUIRE(wanted.size() == 2);
  CHECK(wanted[0].first == "imgs");  // archive order
  CHECK(torch::equal(wanted[1].second, torch::tensor({{0.0, 0.0, 2.0, 2.0}})));
}

TEST_CASE("numpy reads our .npy/.npz and we read numpy's compressed .npz", "[io][npy][python]") {
  const std::string python = test::python_with("numpy");
  if (python.empty()) {
    WARN("python3 with numpy not found: skipping numpy interop");
    return;
  }
  const std::string dir = test::temp_dir("npz_python");
  write_npy(dir + "/ours.npy", torch::arange(12, at::kLong).reshape({3, 4}));
  write_npz(dir + "/ours.npz", {{"a", torch::full({2, 2}, 0.25)}, {"b", torch::tensor({true, false})}});
  const auto r = test::run_command(python + " -c \"import numpy as np; a=np.load('" + dir +
                                   "/ours.npy'); z=np.load('" + dir +
                                   "/ours.npz'); assert a.dtype==np.int64 and a.shape==(3,4) and a[2,3]==11; "
                                   "assert float(z['a'].sum())==1.0 and z['b'].tolist()==[True,False]; "
                                   "import io; b=io.BytesIO(); np.save(b, np.arange(12).reshape(3,4)); "
                                   "assert b.getvalue()==open('" + dir + "/ours.npy','rb').read(), 'bytes differ'; "
                                   "np.savez_compressed('" + dir +
                                   "/theirs.npz', x=np.arange(6,dtype=np.float32).reshape(2,3), "
                                   "f=np.asfortranarray(np.arange(6,dtype='>f8').reshape(2,3)))\"");
  REQUIRE(r.exit_code == 0);
  const NamedTensors theirs = read_npz(dir + "/theirs.npz");
  REQUIRE(theirs.size() == 2);
  CHECK(theirs[0].first == "x");
  CHECK(torch::equal(theirs[0].second, torch::arange(6, at::kFloat).reshape({2, 3})));
  CHECK(torch::equal(theirs[1].second, torch::arange(6, at::kDouble).reshape({2, 3})));
}

// `medsam info` and `medsam export` end to end, through the built binary.
#include <catch2/catch.hpp>

#include <fstream>

#include "tests/io/python_helper.h"
#include "tests/io/sam_keys.h"
#include "tests/support/run_command.h"

using medsam::test::fixture_path;
using medsam::test::run_medsam;

TEST_CASE("medsam info describes the tiny fixture", "[cli][checkpoint]") {
  const auto r = run_medsam(fixture_path("sam_tiny/weights.pth").insert(0, "info "));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("format: pth (torch.save zip archive)"));
  CHECK_THAT(r.out, Catch::Contains("layout: bare state dict"));
  CHECK_THAT(r.out, Catch::Contains("arch: tiny"));
  CHECK_THAT(r.out, Catch::Contains("tensors: 202"));
  CHECK_THAT(r.out, Catch::Contains("parameters: 605,452"));  // tiny.tsv's header
  CHECK_THAT(r.out, Catch::Contains("dtypes: float32 x202"));
  CHECK_THAT(r.out, Catch::Contains("keys: all 202 match tiny"));
}

TEST_CASE("medsam info notices the training wrapper, the DDP prefix and the epoch", "[cli][checkpoint]") {
  const auto r = run_medsam("info " + fixture_path("sam_keys/vit_b_constant_medsam_ddp.pth"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("state dict under 'model', keys prefixed 'module.' (stripped)"));
  CHECK_THAT(r.out, Catch::Contains("arch: vit_b"));
  CHECK_THAT(r.out, Catch::Contains("parameters: 93,735,728"));  // vit_b.tsv's header (incl. the PE buffer)
  CHECK_THAT(r.out, Catch::Contains("  image_encoder: 89,670,912"));
  CHECK_THAT(r.out, Catch::Contains("keys: all 314 match vit_b"));
  CHECK_THAT(r.out, Catch::Contains("training epoch: 3"));
  CHECK_THAT(r.out, Catch::Contains("training optimizer: 1 param group(s), lr 0.0001"));
  CHECK_THAT(r.out, Catch::Contains("314 tensors are stored broadcast"));
}

TEST_CASE("medsam info and export fail with exit 1 or 2 and name the problem", "[cli][checkpoint]") {
  const auto missing = run_medsam("info /no/such/ckpt.pth");
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("/no/such/ckpt.pth"));
  const std::string dir = medsam::test::temp_dir("cli_export_errors");
  const auto ext = run_medsam("export --checkpoint " + fixture_path("sam_tiny/weights.pth") + " --output " + dir + "/m.tflite");
  CHECK(ext.exit_code == 2);
  CHECK_THAT(ext.err, Catch::Contains("m.tflite") && Catch::Contains(".onnx"));
  const auto dtype = run_medsam("export --checkpoint " + fixture_path("sam_tiny/weights.pth") + " --output " + dir +
                                "/m.pth --dtype fp8");
  CHECK(dtype.exit_code == 2);
  const auto arch = run_medsam("export --checkpoint " + fixture_path("sam_tiny/weights.pth") + " --output " + dir +
                               "/m.pth --arch vit_b");
  CHECK(arch.exit_code == 1);
  CHECK_THAT(arch.err, Catch::Contains("is this a tiny checkpoint? try --arch auto"));
}

TEST_CASE("medsam export unwraps a MedSAM training checkpoint into a .pth Python loads", "[cli][checkpoint][python]") {
  const std::string dir = medsam::test::temp_dir("cli_export");
  const auto r = run_medsam("export --checkpoint " + fixture_path("sam_keys/vit_b_constant_medsam_ddp.pth") +
                            " --output " + dir + "/medsam.pth --dtype fp16");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("vit_b") && Catch::Contains("314 tensors"));
  const auto info = run_medsam("info " + dir + "/medsam.pth");
  CHECK_THAT(info.out, Catch::Contains("layout: bare state dict") && Catch::Contains("dtypes: float16 x314"));
  const std::string python = medsam::test::python_with("torch");
  if (python.empty()) {
    WARN("no python3 that can 'import torch': skipping the torch.load check");
    return;
  }
  std::ofstream(dir + "/check.py") << R"(import sys, torch, zlib
sd = torch.load(sys.argv[1], weights_only=True)
keys = [l.split('\t')[0] for l in open(sys.argv[2]) if not l.startswith('#')]
assert list(sd.keys()) == keys, 'key order'
for k, v in sd.items():
    assert v.dtype == torch.float16 and v.is_contiguous(), k
    c = (zlib.crc32(k.encode()) % 20011) / 20011 - 0.5
    assert torch.equal(v, torch.full(v.shape, c, dtype=torch.float32).half()), k
print('loaded', len(sd))
)";
  const auto py = medsam::test::run_command(python + " " + dir + "/check.py " + dir + "/medsam.pth " +
                                            fixture_path("sam_keys/vit_b.tsv"));
  INFO(py.err);
  CHECK(py.exit_code == 0);
  CHECK_THAT(py.out, Catch::Contains("loaded 314"));
}

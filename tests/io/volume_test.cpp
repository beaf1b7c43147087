#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/core/error.h"
#include "medsam/io/volume.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"

using namespace medsam::io;

namespace {
Volume oblique_volume(at::ScalarType dtype) {
  Volume v;
  v.data = torch::arange(4 * 5 * 6).reshape({4, 5, 6}).to(dtype);
  v.geometry.spacing = {0.7, 0.8, 2.5};
  v.geometry.origin = {-90.5, 12.25, 30.0};
  // A rotation of 90 degrees about z: x axis -> +y, y axis -> -x.
  v.geometry.direction = {0, -1, 0, 1, 0, 0, 0, 0, 1};
  return v;
}
}  // namespace

TEST_CASE("volumes round-trip data and geometry through NIfTI, MHA and NRRD", "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("NIfTI, MHA and NRRD");
  const auto dir = medsam::test::temp_dir("volume_rt");
  for (const char* ext : {".nii.gz", ".nii", ".mha", ".nrrd"}) {
    for (auto dtype : {torch::kByte, torch::kShort, torch::kFloat}) {
      INFO(ext << " dtype " << c10::toString(dtype));
      const auto v = oblique_volume(dtype);
      write_volume(dir + "/v" + ext, v);
      const auto back = read_volume(dir + "/v" + ext);
      CHECK(back.data.scalar_type() == dtype);
      CHECK(back.data.sizes() == v.data.sizes());  // (z, y, x) kept
      CHECK(back.data.equal(v.data));
      for (int i = 0; i < 3; ++i) {
        CHECK(back.geometry.spacing[i] == Approx(v.geometry.spacing[i]).margin(1e-5));
        CHECK(back.geometry.origin[i] == Approx(v.geometry.origin[i]).margin(1e-4));
      }
      for (int i = 0; i < 9; ++i) CHECK(back.geometry.direction[i] == Approx(v.geometry.direction[i]).margin(1e-5));
    }
  }
}

TEST_CASE("the Colin27 crop fixture reads as (z, y, x) uint8 with its sform placement", "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("NIfTI");
  const auto v = read_volume(std::string(MEDSAM_FIXTURES_DIR) + "/colin27_crop/image.nii.gz");
  CHECK(v.data.sizes() == at::IntArrayRef({12, 48, 40}));
  CHECK(v.data.scalar_type() == torch::kByte);
  // NIfTI sform offset (-90 + 30, -125 + 100, -71 + 70) in RAS becomes LPS in ITK: x and y negated.
  CHECK(v.geometry.origin[0] == Approx(60.0));
  CHECK(v.geometry.origin[1] == Approx(25.0));
  CHECK(v.geometry.origin[2] == Approx(-1.0));
  CHECK(v.geometry.spacing[2] == Approx(1.0));
}

TEST_CASE("unreadable volumes fail with the path named", "[data][io][volume]") {
  CHECK_THROWS_WITH(read_volume("/nonexistent/v.nii.gz"), Catch::Contains("/nonexistent/v.nii.gz"));
  const auto dir = medsam::test::temp_dir("volume_bad");
  medsam::test::run_command("echo garbage > " + dir + "/bad.nii.gz");
  CHECK_THROWS_AS(read_volume(dir + "/bad.nii.gz"), medsam::Error);
  CHECK(looks_like_volume_file("a/B.NII.GZ"));
  CHECK_FALSE(looks_like_volume_file("a/b.png"));
}

// 3D boxes of MedSAM/CVPR .npz cases are checked before they are clamped or cast: NaN/inf values,
// fractional slice indices and boxes with no slice in the volume are skipped (named with the values as
// in the file), the case's other boxes answered.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "medsam/infer/npz_case.h"
#include "medsam/io/image.h"
#include "tests/support/tiny_sam.h"

using namespace medsam;

namespace {

// Three slices of the fixture image, (3, 256, 256) uint8, with the given (N, 6) boxes.
infer::NpzCase npz_checks_case(const std::vector<std::vector<double>>& rows) {
  const at::Tensor a = io::read_image(test::tiny_dir() + "/case_z70/image.png").select(2, 0);
  infer::NpzCase c;
  c.path = "vol.npz";
  c.imgs = torch::stack({a, a, a}).contiguous();
  c.is_3d = true;
  std::vector<double> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  c.boxes = torch::tensor(flat, at::kDouble).view({-1, 6});
  return c;
}

int64_t npz_checks_count(const at::Tensor& segs, int64_t label) { return (segs == label).sum().item<int64_t>(); }

}  // namespace

TEST_CASE("a 3D .npz box with a NaN or infinite value is skipped, not segmented over clamped slices", "[infer]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  // Box 1 is good. Before the check, std::max(0.0, NaN) is 0 and std::min(2.0, NaN) 2: boxes 2-4 were
  // segmented over the whole volume (and int64_t(NaN) counted their slices: undefined behaviour).
  auto c = npz_checks_case(
      {{46, 50, 0, 86, 90, 2}, {46, 50, nan, 86, 90, 2}, {46, 50, 0, 86, 90, nan}, {46, 50, 0, 86, 90, inf}, {nan, 50, 0, 86, 90, 2}});
  auto predictor = test::tiny_predictor();
  std::vector<std::string> skipped;
  const at::Tensor segs = infer::segment_npz_case(predictor, c, c.imgs, {}, {}, &skipped);
  REQUIRE(skipped.size() == 4);
  CHECK_THAT(skipped[0], Catch::StartsWith("box 2 (46,50,nan,86,90,2): z0 is nan"));
  CHECK_THAT(skipped[1], Catch::StartsWith("box 3 (46,50,0,86,90,nan): z1 is nan"));
  CHECK_THAT(skipped[2], Catch::StartsWith("box 4 (46,50,0,86,90,inf): z1 is inf"));
  CHECK_THAT(skipped[3], Catch::StartsWith("box 5 (nan,50,0,86,90,2): x0 is nan"));
  CHECK(npz_checks_count(segs, 1) > 0);
  for (int64_t k = 2; k <= 5; ++k) CHECK(npz_checks_count(segs, k) == 0);
}

TEST_CASE("3D .npz z values must be whole slice indices: a fractional z is skipped, fractional x/y are fine", "[infer]") {
  // The reference's range() over z refuses non-integers; medsam used to truncate them silently.
  auto c = npz_checks_case({{46, 50, 0.5, 86, 90, 2}, {46, 50, 0, 86, 90, 1.7}, {46.5, 50.2, 0, 86.7, 90.1, 2}});
  auto predictor = test::tiny_predictor();
  std::vector<std::string> skipped;
  const at::Tensor segs = infer::segment_npz_case(predictor, c, c.imgs, {}, {}, &skipped);
  REQUIRE(skipped.size() == 2);
  CHECK_THAT(skipped[0], Catch::StartsWith("box 1 (46,50,0.5,86,90,2): ") && Catch::Contains("whole slice indices"));
  CHECK_THAT(skipped[1], Catch::StartsWith("box 2 (46,50,0,86,90,1.7): ") && Catch::Contains("whole slice indices"));
  CHECK(npz_checks_count(segs, 1) == 0);
  CHECK(npz_checks_count(segs, 2) == 0);
  CHECK(npz_checks_count(segs, 3) > 0);
}

TEST_CASE("3D .npz z past the volume: clamped where slices remain, skipped naming the file's values where none do",
          "[infer]") {
  // Volume slices 0..2. Box 1 reaches past both ends (1e30 once overflowed an int64_t cast): clamped to
  // 0..2, as the reference clamps. Box 2 lies wholly above the volume, box 3 is inverted: skipped, and the
  // message says so with the box as given, not with its clamped z1 ("z1=2").
  auto c = npz_checks_case({{46, 50, -4, 86, 90, 1e30}, {46, 50, 5, 86, 90, 9}, {46, 50, 2, 86, 90, 1}});
  auto predictor = test::tiny_predictor();
  std::vector<std::string> skipped;
  const at::Tensor segs = infer::segment_npz_case(predictor, c, c.imgs, {}, {}, &skipped);
  REQUIRE(skipped.size() == 2);
  CHECK_THAT(skipped[0], Catch::StartsWith("box 2 (46,50,5,86,90,9): ") &&
                             Catch::Contains("outside the volume's 0..2") && !Catch::Contains("z1=2"));
  CHECK_THAT(skipped[1], Catch::StartsWith("box 3 (46,50,2,86,90,1): ") && Catch::Contains("inverted"));
  auto inside = npz_checks_case({{46, 50, 0, 86, 90, 2}});
  const at::Tensor clamped = infer::segment_npz_case(predictor, inside, inside.imgs);
  CHECK(npz_checks_count(segs, 1) > 0);
  CHECK(torch::equal(segs == 1, clamped == 1));
}

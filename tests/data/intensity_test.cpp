#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <limits>

#include "medsam/core/error.h"
#include "medsam/data/intensity.h"

using namespace medsam::data;

TEST_CASE("CT window clips to L-W/2..L+W/2 and min-maxes the clipped volume to 0..255", "[data][intensity]") {
  // soft tissue L40 W400 -> [-160, 240]; -1000 and 1000 clip to the ends.
  auto hu = torch::tensor({-1000.0, -160.0, 40.0, 240.0, 1000.0}).to(torch::kShort);
  auto out = normalize_ct_window(hu, ct_window_preset("soft_tissue"));
  REQUIRE(out.scalar_type() == torch::kByte);
  // 40 HU: (40 + 160) / 400 * 255 = 127.5 -> 127 (numpy's uint8 cast truncates)
  CHECK(out.to(torch::kInt).equal(torch::tensor({0, 0, 127, 255, 255}, torch::kInt)));
}

TEST_CASE("CT window min-max uses the clipped volume's own range", "[data][intensity]") {
  // Nothing reaches the lower bound -160: the minimum is 0 HU, which maps to 0.
  auto hu = torch::tensor({0.0, 100.0, 200.0});
  auto out = normalize_ct_window(hu, CtWindow{40, 400});
  CHECK(out.to(torch::kInt).equal(torch::tensor({0, 127, 255}, torch::kInt)));  // 100/200*255 = 127.5
}

TEST_CASE("CT window presets and explicit level/width", "[data][intensity]") {
  CHECK(ct_window_preset("lung").level == -600);
  CHECK(ct_window_preset("lung").width == 1500);
  CHECK(ct_window_preset("brain").width == 80);
  CHECK_THROWS_AS(ct_window_preset("nope"), medsam::UsageError);
  CHECK_THROWS_AS(normalize_ct_window(torch::zeros({2}), CtWindow{0, 0}), medsam::UsageError);
}

TEST_CASE("percentile matches numpy's linear interpolation", "[data][intensity]") {
  auto v = torch::arange(1, 11).to(torch::kFloat);  // 1..10
  CHECK(percentile(v, 0) == Approx(1.0));
  CHECK(percentile(v, 100) == Approx(10.0));
  CHECK(percentile(v, 50) == Approx(5.5));
  CHECK(percentile(v, 0.5) == Approx(1.045));   // np.percentile(range(1,11), 0.5)
  CHECK(percentile(v, 99.5) == Approx(9.955));
}

TEST_CASE("percentile normalisation clips non-zero voxels and keeps zeros at zero", "[data][intensity]") {
  // 0 background plus 1..200; 0.5/99.5 percentiles of 1..200 are 1.995 and 199.005.
  auto v = torch::cat({torch::zeros({50}), torch::arange(1, 201).to(torch::kFloat)});
  auto out = normalize_percentile(v, 0.5, 99.5).to(torch::kInt);
  CHECK(out.slice(0, 0, 50).sum().item<int>() == 0);          // background stays 0
  CHECK(out[50].item<int>() == 0);                             // 1 clips to 1.995 = the minimum -> 0
  CHECK(out[249].item<int>() == 255);                          // 200 clips to the maximum -> 255
  // 100 -> (100 - 1.995) / (199.005 - 1.995) * 255 = 126.85 -> 126
  CHECK(out[50 + 99].item<int>() == 126);
  // With zeros included the lower percentile would be 0: the result must not depend on them.
  auto without_zeros = normalize_percentile(torch::arange(1, 201).to(torch::kFloat), 0.5, 99.5).to(torch::kInt);
  CHECK(out.slice(0, 50).equal(without_zeros));
}

TEST_CASE("percentile normalisation of an all-zero volume is all zero", "[data][intensity]") {
  CHECK(normalize_percentile(torch::zeros({4, 4})).sum().item<int>() == 0);
}

TEST_CASE("2D images above 255 are min-maxed, 8-bit images pass unchanged", "[data][intensity]") {
  auto img16 = torch::tensor({0, 1000, 4000}, torch::kInt);
  CHECK(normalize_2d_image(img16).to(torch::kInt).equal(torch::tensor({0, 63, 255}, torch::kInt)));
  auto img8 = torch::tensor({0, 7, 255}, torch::kByte);
  CHECK(normalize_2d_image(img8).equal(img8));
}

TEST_CASE("NaN and inf voxels neither blacken the image nor set its range", "[data][intensity]") {
  // A float map with NaN outside the field of view (as resampling writes) and an inf: the finite voxels
  // are normalised as if those were the finite minimum / maximum.
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const at::Tensor with = torch::tensor({nan, 10.f, 20.f, 30.f, 40.f, inf, -inf});
  const at::Tensor plain = torch::tensor({10.f, 10.f, 20.f, 30.f, 40.f, 40.f, 10.f});
  CHECK(torch::equal(normalize_2d_image(with), normalize_2d_image(plain)));
  CHECK(normalize_2d_image(with).max().item<int>() == 40);  // within 0..255: kept as is, as the plain image
  // A window clips +-inf to its ends first (-25, 75 here); NaN then takes the lowest value.
  const at::Tensor clipped = torch::tensor({-25.f, 10.f, 20.f, 30.f, 40.f, 75.f, -25.f});
  CHECK(torch::equal(normalize_ct_window(with, {25, 100}), normalize_ct_window(clipped, {25, 100})));
  CHECK(torch::equal(normalize_percentile(with, 0.0, 100.0), normalize_percentile(plain, 0.0, 100.0)));
  CHECK(normalize_percentile(with, 0.0, 100.0).max().item<int>() == 255);
  // Nothing finite: all zero, not an exception.
  CHECK(normalize_2d_image(torch::full({4}, nan)).sum().item<int>() == 0);
}

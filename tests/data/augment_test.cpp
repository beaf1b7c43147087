#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/data/augment.h"
#include "medsam/data/prompt_sampler.h"

using namespace medsam::data;

namespace {
// A labelled rectangle (rows 5..14, cols 20..39) on a 64x64 frame; the image is the label map itself.
void scene(at::Tensor& image, at::Tensor& labels) {
  labels = torch::zeros({64, 64}, torch::kInt);
  labels.slice(0, 5, 15).slice(1, 20, 40).fill_(3);
  image = (labels.to(torch::kFloat) / 3).unsqueeze(0).repeat({3, 1, 1});
}
}  // namespace

TEST_CASE("disabled augmentation draws the identity", "[data][augment]") {
  SampleRng rng{1};
  const auto p = draw_augment(AugmentConfig{}, 64, rng);
  CHECK(p.identity_geometry());
  CHECK(p.contrast == 1.0);
}

TEST_CASE("flips and quarter turns move image, labels and the tight box together", "[data][augment]") {
  at::Tensor image, labels;
  scene(image, labels);
  AugmentParams p;
  SECTION("left-right flip") {
    p.hflip = true;
    apply_geometry(p, image, labels);
    CHECK((tight_box(labels == 3) == std::array<std::int64_t, 4>{64 - 40, 5, 63 - 20, 14}));
  }
  SECTION("up-down flip") {
    p.vflip = true;
    apply_geometry(p, image, labels);
    CHECK((tight_box(labels == 3) == std::array<std::int64_t, 4>{20, 64 - 15, 39, 63 - 5}));
  }
  SECTION("a quarter turn counter-clockwise: (x, y) -> (y, 63 - x)") {
    p.rot90 = 1;
    apply_geometry(p, image, labels);
    CHECK((tight_box(labels == 3) == std::array<std::int64_t, 4>{5, 63 - 39, 14, 63 - 20}));
  }
  // The image moved with the labels: it still equals the (scaled) label map.
  CHECK(image[1].equal(labels.to(torch::kFloat) / 3));
}

TEST_CASE("zoom and shift keep labels exact and aligned with the image", "[data][augment]") {
  at::Tensor image, labels;
  scene(image, labels);
  AugmentParams p;
  p.shift_x = 5;
  p.shift_y = -3;
  apply_geometry(p, image, labels);
  CHECK((tight_box(labels == 3) == std::array<std::int64_t, 4>{25, 2, 44, 11}));  // an integer shift
  CHECK((std::get<0>(at::_unique(labels)).equal(torch::tensor({0, 3}, torch::kInt))));
  at::Tensor image2, labels2;
  scene(image2, labels2);
  p = AugmentParams{};
  p.scale = 1.2;
  apply_geometry(p, image2, labels2);
  CHECK((std::get<0>(at::_unique(labels2)).equal(torch::tensor({0, 3}, torch::kInt))));  // no blended ids
  // Where the label is, the (bilinear) image is bright; far from it, dark.
  CHECK(image2[0].masked_select(labels2 == 3).mean().item<float>() > 0.75f);
  CHECK(image2[0].masked_select(labels2 == 0).mean().item<float>() < 0.1f);
}

TEST_CASE("intensity jitter stays in [0, 1]", "[data][augment]") {
  auto image = torch::rand({3, 32, 32});
  AugmentParams p;
  p.brightness = 0.3;
  p.contrast = 1.4;
  p.gamma = 0.8;
  apply_intensity(p, image);
  CHECK(image.min().item<float>() >= 0.f);
  CHECK(image.max().item<float>() <= 1.f);
}

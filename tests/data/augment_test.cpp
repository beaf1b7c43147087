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

namespace {
// The definition the fast path must reproduce: flips, then quarter turns, each as an exact index
// permutation, then the zoom/shift as one bilinear (image) / nearest (labels) resample.
void reference_geometry(const AugmentParams& p, at::Tensor& image, at::Tensor& labels) {
  if (p.hflip) image = image.flip({2}), labels = labels.flip({1});
  if (p.vflip) image = image.flip({1}), labels = labels.flip({0});
  if (p.rot90 != 0) image = at::rot90(image, p.rot90, {1, 2}), labels = at::rot90(labels, p.rot90, {0, 1});
  AugmentParams zoom;
  zoom.scale = p.scale, zoom.shift_x = p.shift_x, zoom.shift_y = p.shift_y;
  apply_geometry(zoom, image, labels);
}
}  // namespace

TEST_CASE("flips and turns folded into the zoom's resample equal doing them first", "[data][augment]") {
  torch::manual_seed(4);
  SampleRng rng{11};
  const auto image0 = torch::rand({3, 48, 48});
  const auto labels0 = torch::randint(0, 5, {48, 48}, torch::kInt);
  for (int t = 0; t < 64; ++t) {
    AugmentParams p;
    p.hflip = rng.bernoulli(0.5);
    p.vflip = rng.bernoulli(0.5);
    p.rot90 = static_cast<int>(rng.below(4));
    p.scale = rng.uniform(0.8, 1.2);
    p.shift_x = std::round(rng.uniform(-5, 5));
    p.shift_y = std::round(rng.uniform(-5, 5));
    INFO("case " << t << ": hflip " << p.hflip << " vflip " << p.vflip << " rot90 " << p.rot90 << " scale " << p.scale
                 << " shift " << p.shift_x << "," << p.shift_y);
    at::Tensor a = image0.clone(), la = labels0.clone(), b = image0.clone(), lb = labels0.clone();
    apply_geometry(p, a, la);
    reference_geometry(p, b, lb);
    CHECK((a - b).abs().max().item<float>() < 1e-5f);
    CHECK(la.equal(lb));
  }
}

TEST_CASE("a grey image broadcast to 3 channels is augmented as the materialised 3 channels", "[data][augment]") {
  torch::manual_seed(6);
  const auto grey = torch::rand({1, 40, 40});
  const auto labels0 = torch::randint(0, 3, {40, 40}, torch::kInt);
  for (const bool lossy : {false, true}) {
    INFO("lossy geometry " << lossy);
    AugmentParams p;
    p.hflip = true, p.rot90 = 3;
    if (lossy) p.scale = 1.1, p.shift_x = 2;
    p.contrast = 1.2, p.brightness = 0.05, p.gamma = 0.9;
    at::Tensor view = grey.expand({3, 40, 40}), full = grey.repeat({3, 1, 1});
    at::Tensor lv = labels0.clone(), lf = labels0.clone();
    apply_geometry(p, view, lv);
    apply_geometry(p, full, lf);
    apply_intensity(p, view);
    apply_intensity(p, full);
    CHECK(view.stride(0) == 0);  // still one channel in memory
    CHECK((view - full).abs().max().item<float>() < 1e-6f);
    CHECK(lv.equal(lf));
  }
}

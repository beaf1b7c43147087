#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/data/augment.h"
#include "medsam/data/prompt_sampler.h"

using namespace medsam::data;

namespace {
// A labelled rectangle (rows 5..14, cols 20..39) on a 64x64 frame; the image is the label map itself
// (label 3 -> 255), as a uint8 (3, 64, 64) image.
void scene(at::Tensor& image, at::Tensor& labels) {
  labels = torch::zeros({64, 64}, torch::kInt);
  labels.slice(0, 5, 15).slice(1, 20, 40).fill_(3);
  image = (labels * 85).to(torch::kByte).unsqueeze(0).repeat({3, 1, 1});
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
  CHECK(image[1].equal((labels * 85).to(torch::kByte)));
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
  CHECK(image2[0].masked_select(labels2 == 3).to(torch::kFloat).mean().item<float>() > 0.75f * 255);
  CHECK(image2[0].masked_select(labels2 == 0).to(torch::kFloat).mean().item<float>() < 0.1f * 255);
}

TEST_CASE("the float image is min-max of the bytes, then the intensity jitter, in [0, 1]", "[data][augment]") {
  torch::manual_seed(2);
  const auto bytes = torch::randint(30, 200, {3, 32, 32}, torch::kByte);
  const std::uint8_t lo = 30, hi = 199;
  const auto unit = (bytes.to(torch::kFloat) - 30.f) / 169.f;
  // No jitter: exactly the float32 min-max normalisation.
  CHECK(to_unit_float(AugmentParams{}, bytes, lo, hi).equal(unit));
  AugmentParams p;
  p.brightness = 0.3;
  p.contrast = 1.4;
  p.gamma = 0.8;
  const auto image = to_unit_float(p, bytes, lo, hi);
  CHECK(image.min().item<float>() >= 0.f);
  CHECK(image.max().item<float>() <= 1.f);
  // The definition: contrast about the mean of the whole image, brightness, clamp, gamma.
  const auto mean = unit.to(torch::kDouble).mean();
  const auto expect = (((unit.to(torch::kDouble) - mean) * 1.4 + mean + 0.3).clamp(0.0, 1.0)).pow(0.8);
  CHECK((image.to(torch::kDouble) - expect).abs().max().item<double>() < 1e-6);
  // A constant image (hi == lo) normalises to 0 without dividing by zero.
  CHECK(to_unit_float(AugmentParams{}, torch::full({1, 4, 4}, 7, torch::kByte), 7, 7).abs().max().item<float>() == 0.f);
}

namespace {
// The definition the one-resample path must reproduce, the ATen route it replaced: flips, then
// quarter turns, each an exact index permutation, then the zoom/shift as grid_sampler on float
// (bilinear for the image, nearest for labels, zero padding), rounded back to bytes.
void reference_geometry(const AugmentParams& p, at::Tensor& image, at::Tensor& labels) {
  if (p.hflip) image = image.flip({2}), labels = labels.flip({1});
  if (p.vflip) image = image.flip({1}), labels = labels.flip({0});
  if (p.rot90 != 0) image = at::rot90(image, p.rot90, {1, 2}), labels = at::rot90(labels, p.rot90, {0, 1});
  const auto s = static_cast<double>(image.size(2));
  const double k = 1.0 / p.scale, tx = 2.0 * p.shift_x / s, ty = 2.0 * p.shift_y / s;
  const auto theta = torch::tensor({k, 0.0, -tx * k, 0.0, k, -ty * k}, torch::kFloat).reshape({1, 2, 3});
  const auto grid = at::affine_grid_generator(theta, {1, 1, image.size(1), image.size(2)}, false);
  image = at::grid_sampler(image.to(torch::kFloat).unsqueeze(0), grid, 0, 0, false)
              .squeeze(0)
              .round()
              .clamp(0, 255)
              .to(torch::kByte);
  labels = at::grid_sampler(labels.to(torch::kFloat).unsqueeze(0).unsqueeze(0), grid, 1, 0, false)
               .squeeze(0)
               .squeeze(0)
               .to(torch::kInt);
}
}  // namespace

TEST_CASE("flips and turns folded into the zoom's one resample equal doing them first", "[data][augment]") {
  torch::manual_seed(4);
  SampleRng rng{11};
  const auto image0 = torch::randint(0, 256, {3, 48, 48}, torch::kByte);
  const auto labels0 = torch::randint(0, 5, {48, 48}, torch::kInt);
  for (int t = 0; t < 64; ++t) {
    AugmentParams p;
    p.hflip = rng.bernoulli(0.5);
    p.vflip = rng.bernoulli(0.5);
    p.rot90 = static_cast<int>(rng.below(4));
    if (t % 4 != 0) {  // every 4th case: flips and turns alone (the exact path)
      p.scale = rng.uniform(0.8, 1.2);
      p.shift_x = std::round(rng.uniform(-5, 5));
      p.shift_y = std::round(rng.uniform(-5, 5));
    }
    INFO("case " << t << ": hflip " << p.hflip << " vflip " << p.vflip << " rot90 " << p.rot90 << " scale " << p.scale
                 << " shift " << p.shift_x << "," << p.shift_y);
    at::Tensor a = image0.clone(), la = labels0.clone(), b = image0.clone(), lb = labels0.clone();
    apply_geometry(p, a, la);
    reference_geometry(p, b, lb);
    // Bytes: at most one step apart (float rounding of a weight can flip a .5); labels exact.
    CHECK((a.to(torch::kInt) - b.to(torch::kInt)).abs().max().item<int>() <= (p.lossy_geometry() ? 1 : 0));
    CHECK(la.equal(lb));
  }
}

TEST_CASE("outside the frame the image reads the fill value, labels read 0", "[data][augment]") {
  auto image = torch::full({1, 32, 32}, 200, torch::kByte);
  auto labels = torch::ones({32, 32}, torch::kInt);
  AugmentParams p;
  p.shift_x = 8;  // everything moves 8 px right: columns 0..7 come from outside
  apply_geometry(p, image, labels, /*fill=*/17);
  CHECK(image[0].slice(1, 0, 8).eq(17).all().item<bool>());
  CHECK(image[0].slice(1, 8, 32).eq(200).all().item<bool>());
  CHECK(labels.slice(1, 0, 8).eq(0).all().item<bool>());
  CHECK(labels.slice(1, 8, 32).eq(1).all().item<bool>());
}

TEST_CASE("a grey image is augmented as one plane, equal to its three-channel copy", "[data][augment]") {
  torch::manual_seed(6);
  const auto grey = torch::randint(0, 256, {1, 40, 40}, torch::kByte);
  const auto labels0 = torch::randint(0, 3, {40, 40}, torch::kInt);
  for (const bool lossy : {false, true}) {
    INFO("lossy geometry " << lossy);
    AugmentParams p;
    p.hflip = true, p.rot90 = 3;
    if (lossy) p.scale = 1.1, p.shift_x = 2;
    p.contrast = 1.2, p.brightness = 0.05, p.gamma = 0.9;
    at::Tensor one = grey.clone(), three = grey.repeat({3, 1, 1});
    at::Tensor l1 = labels0.clone(), l3 = labels0.clone();
    apply_geometry(p, one, l1, 5);
    apply_geometry(p, three, l3, 5);
    const auto f1 = to_unit_float(p, one, 5, 250), f3 = to_unit_float(p, three, 5, 250);
    CHECK(f1.size(0) == 3);
    CHECK(f1.stride(0) == 0);  // still one channel in memory
    CHECK((f1 - f3).abs().max().item<float>() < 1e-6f);
    CHECK(l1.equal(l3));
  }
}

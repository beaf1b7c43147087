// MedSAM's preprocessing: channels, resize, min-max to [0, 1], box scaling.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/infer/preprocess.h"

using namespace medsam::infer;

TEST_CASE("grey images are repeated to 3 channels", "[infer]") {
  const auto grey = torch::arange(12, torch::kFloat).view({3, 4}).to(torch::kByte);
  const auto rgb = to_three_channels(grey);
  REQUIRE(rgb.sizes() == at::IntArrayRef({3, 4, 3}));
  for (int ch = 0; ch < 3; ++ch) CHECK(torch::equal(rgb.select(2, ch), grey.to(torch::kFloat)));
  CHECK(to_three_channels(grey.unsqueeze(-1)).sizes() == at::IntArrayRef({3, 4, 3}));
}

TEST_CASE("images with more than 3 channels keep the first 3", "[infer]") {
  const auto rgba = torch::rand({5, 6, 4});
  CHECK(torch::equal(to_three_channels(rgba), rgba.slice(2, 0, 3)));
  CHECK_THROWS(to_three_channels(torch::rand({5, 6, 2})));
}

TEST_CASE("preprocess_image min-max scales to [0, 1] without mean/std", "[infer]") {
  const auto image = (torch::rand({64, 64, 3}) * 200 + 20).to(torch::kByte);
  const auto x = preprocess_image(image, 64);  // same size: no resize
  REQUIRE(x.sizes() == at::IntArrayRef({1, 3, 64, 64}));
  CHECK(x.min().item<float>() == 0.0f);
  CHECK(x.max().item<float>() == 1.0f);
  const auto f = image.to(torch::kFloat);
  const auto expected = ((f - f.min()) / (f.max() - f.min())).permute({2, 0, 1}).unsqueeze(0);
  CHECK(torch::allclose(x, expected, 1e-6, 1e-6));
}

TEST_CASE("a constant image maps to zeros (range clipped at 1e-8)", "[infer]") {
  const auto x = preprocess_image(torch::full({8, 8}, 7, torch::kByte), 8);
  CHECK(x.abs().max().item<float>() == 0.0f);
}

TEST_CASE("shrinking is antialiased: a 1-pixel checkerboard halves to mid grey", "[infer]") {
  const auto ij = torch::arange(128);
  const auto board = ((ij.view({-1, 1}) + ij.view({1, -1})) % 2 * 255).to(torch::kFloat).unsqueeze(-1).repeat({1, 1, 3});
  const auto small = resize_image(board, 64, 64);
  REQUIRE(small.sizes() == at::IntArrayRef({64, 64, 3}));
  // interior (away from the border, where the kernel is renormalised): close to 127.5
  const auto inner = small.slice(0, 4, 60).slice(1, 4, 60);
  CHECK((inner - 127.5).abs().max().item<float>() < 1.0f);
}

TEST_CASE("resize is anisotropic to the square encoder size and a no-op at that size", "[infer]") {
  const auto image = torch::rand({30, 50, 3});
  CHECK(resize_image(image, 64, 64).sizes() == at::IntArrayRef({64, 64, 3}));
  CHECK(torch::equal(resize_image(image, 30, 50), image));
  CHECK(preprocess_image(image, 16).sizes() == at::IntArrayRef({1, 3, 16, 16}));
}

TEST_CASE("boxes scale by size/W in x and size/H in y", "[infer]") {
  const auto boxes = torch::tensor({{10.f, 20.f, 30.f, 40.f}});
  const auto s = scale_boxes(boxes, /*height=*/100, /*width=*/200, 1024);
  CHECK(torch::allclose(s, torch::tensor({{51.2f, 204.8f, 153.6f, 409.6f}})));
  CHECK_THROWS(scale_boxes(torch::rand({2, 3}), 10, 10, 1024));
}

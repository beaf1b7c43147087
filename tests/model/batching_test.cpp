// MedSAM's batching rule: B images with one box each, and one image with N boxes, give the same
// results as running each pair alone (random tiny model; fp32 reorderings only, so 1e-5).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/model/build_sam.h"
#include "tests/support/tensor_checks.h"

using namespace medsam;

namespace {

Prompts box_prompt(const at::Tensor& boxes) {
  Prompts p;
  p.boxes = boxes;
  return p;
}

const at::Tensor kBoxes = torch::tensor({{10.f, 20.f, 120.f, 200.f}, {50.f, 60.f, 70.f, 90.f}, {0.f, 0.f, 255.f, 255.f}});

}  // namespace

TEST_CASE("B images x 1 box each equals each image with its box alone", "[model]") {
  torch::manual_seed(5);
  torch::NoGradGuard ng;
  auto sam = build_sam("tiny");
  test::randomise(*sam, 0.3);
  auto images = torch::rand({3, 3, 256, 256});
  const auto embeddings = sam->encode(images);  // (3, 32, 16, 16)
  const auto batched = sam->decode(embeddings, box_prompt(kBoxes.unsqueeze(1)));
  REQUIRE(batched.low_res_logits.sizes() == at::IntArrayRef({3, 1, 64, 64}));
  for (int64_t i = 0; i < 3; ++i) {
    INFO("image " << i);
    const auto single_embedding = sam->encode(images.slice(0, i, i + 1));
    CHECK(test::max_abs_diff(single_embedding, embeddings.slice(0, i, i + 1)) < 1e-5);
    const auto single = sam->decode(single_embedding, box_prompt(kBoxes.slice(0, i, i + 1)));
    CHECK(test::max_abs_diff(single.low_res_logits, batched.low_res_logits.slice(0, i, i + 1)) < 1e-5);
    CHECK(test::max_abs_diff(single.iou, batched.iou.slice(0, i, i + 1)) < 1e-5);
  }
  // MedSAM's forward is the same computation
  CHECK(test::max_abs_diff(sam->forward(images, kBoxes), batched.low_res_logits) < 1e-5);
}

TEST_CASE("1 image x N boxes equals each box alone on that image", "[model]") {
  torch::manual_seed(6);
  torch::NoGradGuard ng;
  auto sam = build_sam("tiny");
  test::randomise(*sam, 0.3);
  const auto embedding = torch::randn({1, 32, 16, 16});
  for (bool multimask : {false, true}) {
    INFO("multimask " << multimask);
    const auto batched = sam->decode(embedding, box_prompt(kBoxes), multimask);  // N×4 boxes
    REQUIRE(batched.low_res_logits.size(0) == 3);
    REQUIRE(batched.low_res_logits.size(1) == (multimask ? 3 : 1));
    for (int64_t i = 0; i < 3; ++i) {
      const auto single = sam->decode(embedding, box_prompt(kBoxes.slice(0, i, i + 1)), multimask);
      CHECK(test::max_abs_diff(single.low_res_logits, batched.low_res_logits.slice(0, i, i + 1)) < 1e-5);
      CHECK(test::max_abs_diff(single.iou, batched.iou.slice(0, i, i + 1)) < 1e-5);
    }
  }
}

TEST_CASE("mismatched image and prompt batches are refused with a message", "[model]") {
  torch::NoGradGuard ng;
  auto sam = build_sam("tiny");
  const auto embeddings = torch::randn({2, 32, 16, 16});
  CHECK_THROWS_WITH(sam->decode(embeddings, box_prompt(kBoxes)), Catch::Contains("2 image embeddings and 3 prompts"));
}

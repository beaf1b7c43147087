// DESIGN decision 7: checkpointed ViT blocks give the same gradients as the plain encoder.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/model/build_sam.h"
#include "medsam/train/activation_checkpoint.h"

using namespace medsam;

TEST_CASE("activation checkpointing: same encoder output and parameter gradients as the plain path", "[train][checkpointing]") {
  torch::manual_seed(5);
  Sam sam = build_sam("tiny");
  auto& enc = *sam->image_encoder;
  enc.set_attention_path(AttentionPath::kReference);  // SAM's formula (the fast path has its own gradient tests)
  const auto images = torch::rand({2, 3, 256, 256});
  const auto weights = torch::randn({2, 32, 16, 16});  // a fixed linear functional of the embedding

  const auto plain = enc.forward(images);
  (plain * weights).sum().backward();
  std::vector<at::Tensor> plain_grads;
  for (auto& p : enc.parameters()) plain_grads.push_back(p.grad().clone());
  for (auto& p : enc.parameters()) p.mutable_grad() = at::Tensor();

  const auto ckpt = train::encode_with_checkpointing(enc, images);
  CHECK(torch::equal(plain, ckpt));
  (ckpt * weights).sum().backward();
  const auto params = enc.parameters();
  REQUIRE(params.size() == plain_grads.size());
  for (size_t i = 0; i < params.size(); ++i) {
    REQUIRE(params[i].grad().defined());
    CHECK(torch::allclose(params[i].grad(), plain_grads[i], 1e-5, 1e-7));
  }
}

TEST_CASE("without grad mode the checkpointed encoder is the plain forward", "[train][checkpointing]") {
  torch::manual_seed(6);
  Sam sam = build_sam("tiny");
  torch::NoGradGuard no_grad;
  const auto images = torch::rand({1, 3, 256, 256});
  CHECK(torch::equal(sam->image_encoder->forward(images), train::encode_with_checkpointing(*sam->image_encoder, images)));
}

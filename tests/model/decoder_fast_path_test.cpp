// The mask decoder's inference fast path (MaskDecoderImpl::predict_masks_fast: one prompt at a time,
// folded attention, token-major upscaling) equals SAM's formulation (use_fast_path = false) on random
// weights and inputs: many prompts on one image, one prompt per image, mask and point prompts, single and
// multimask output, on the tiny preset and on ViT-B's decoder dimensions.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/core/torch_compat.h"
#include "medsam/model/build_sam.h"
#include "medsam/model/presets.h"
#include "tests/support/tensor_checks.h"

using namespace medsam;

namespace {


// Decodes with both paths and compares; the fast path must really be taken (masks of the kept slice only).
void check_paths(Sam& sam, const at::Tensor& embeddings, const Prompts& prompts) {
  for (bool multimask : {false, true}) {
    INFO("multimask " << multimask);
    sam->mask_decoder->use_fast_path = true;
    const auto fast = sam->decode(embeddings, prompts, multimask);
    sam->mask_decoder->use_fast_path = false;
    const auto plain = sam->decode(embeddings, prompts, multimask);
    sam->mask_decoder->use_fast_path = true;
    test::check_close(fast.low_res_logits, plain.low_res_logits, "low_res_logits");
    test::check_close(fast.iou, plain.iou, "iou");
  }
}

at::Tensor random_boxes(int64_t n, double size) {
  const auto xy = torch::rand({n, 2}) * (size / 2);
  return torch::cat({xy, xy + torch::rand({n, 2}) * (size / 2)}, 1);  // (n, 4) x0, y0, x1, y1
}

// The tiny preset in eval mode with random weights of scale 0.3, seeded.
Sam random_tiny(uint64_t seed) {
  torch::manual_seed(seed);
  auto sam = build_sam("tiny");
  test::randomise(*sam, 0.3);
  sam->eval();
  return sam;
}

}  // namespace

TEST_CASE("decoder fast path: one image with many boxes, and one box per image", "[model][decoder_fast]") {
  torch::NoGradGuard ng;
  auto sam = random_tiny(11);
  REQUIRE(sam->mask_decoder->fast_path_applies(torch::zeros({1}), torch::zeros({1})));
  Prompts p;
  SECTION("1 image x 9 boxes") {
    p.boxes = random_boxes(9, 256);
    check_paths(sam, torch::randn({1, 32, 16, 16}), p);
  }
  SECTION("1 image x 1 box") {
    p.boxes = random_boxes(1, 256);
    check_paths(sam, torch::randn({1, 32, 16, 16}), p);
  }
  SECTION("4 images x 1 box each") {
    p.boxes = random_boxes(4, 256);
    check_paths(sam, torch::randn({4, 32, 16, 16}), p);
  }
}

TEST_CASE("decoder fast path: point and mask prompts (a dense embedding per prompt)", "[model][decoder_fast]") {
  torch::NoGradGuard ng;
  auto sam = random_tiny(12);
  Prompts p;
  p.point_coords = torch::rand({3, 2, 2}) * 256;
  p.point_labels = torch::tensor({{1, 0}, {1, -1}, {0, 1}});
  SECTION("points") { check_paths(sam, torch::randn({1, 32, 16, 16}), p); }
  SECTION("points + boxes + masks, one image") {
    p.boxes = random_boxes(3, 256);
    p.mask_inputs = torch::randn({3, 1, 64, 64});
    check_paths(sam, torch::randn({1, 32, 16, 16}), p);
  }
  SECTION("masks, one image per prompt") {
    p.mask_inputs = torch::randn({3, 1, 64, 64});
    check_paths(sam, torch::randn({3, 32, 16, 16}), p);
  }
}

TEST_CASE("decoder fast path at ViT-B's decoder dimensions (256 channels, 8 heads, 64x64)", "[model][decoder_fast]") {
  torch::manual_seed(13);
  torch::NoGradGuard ng;
  const ModelConfig config = model_preset("vit_b");
  PromptEncoder prompt_encoder(config.prompt_encoder);
  MaskDecoder decoder(config.mask_decoder);
  test::randomise(*prompt_encoder, 0.3);
  test::randomise(*decoder, 0.05);  // keeps the 256-wide logits in a realistic range
  Prompts p;
  p.boxes = random_boxes(3, 1024).unsqueeze(1);
  const auto [sparse, dense] = prompt_encoder(p);
  const auto embedding = torch::randn({1, 256, 64, 64});
  for (bool multimask : {false, true}) {
    INFO("multimask " << multimask);
    decoder->use_fast_path = true;
    const auto [fast_masks, fast_iou] = decoder(embedding, prompt_encoder->get_dense_pe(), sparse, dense, multimask);
    decoder->use_fast_path = false;
    const auto [masks, iou] = decoder(embedding, prompt_encoder->get_dense_pe(), sparse, dense, multimask);
    test::check_close(fast_masks, masks, "masks");
    test::check_close(fast_iou, iou, "iou");
  }
}

TEST_CASE("decoder fast path is not taken when autograd records", "[model][decoder_fast]") {
  auto sam = build_sam("tiny");
  const auto x = torch::zeros({1});
  CHECK_FALSE(sam->mask_decoder->fast_path_applies(x, x));
  torch::NoGradGuard ng;
  CHECK(sam->mask_decoder->fast_path_applies(x, x));
  sam->mask_decoder->use_fast_path = false;
  CHECK_FALSE(sam->mask_decoder->fast_path_applies(x, x));
}

TEST_CASE("the prompt encoder's positional encoding stays fp32 under bf16 autocast", "[model]") {
  // Under `precision: bf16` the model runs in autocast; a bf16 matmul would put the box corners on 2-pixel
  // steps and move the encoding's phase by up to ~0.2 (the MedSAM reference trains in fp32).
  torch::manual_seed(5);
  Sam sam = build_sam(model_preset("tiny"));
  sam->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor boxes = torch::tensor({{900.f, 100.f, 950.f, 300.f}, {13.f, 771.f, 1017.f, 1001.f}});
  const at::Tensor in_frame = boxes * (sam->prompt_encoder->config.input_image_size / 1024.0);  // tiny: smaller input
  Prompts prompts;
  prompts.boxes = in_frame;
  const at::Tensor fp32 = sam->prompt_encoder->forward(prompts).first;  // the sparse (box corner) embeddings
  at::Tensor autocast;
  {
    compat::AutocastScope bf16(c10::DeviceType::CPU, at::kBFloat16);
    autocast = sam->prompt_encoder->forward(prompts).first;
  }
  CHECK(autocast.scalar_type() == at::kFloat);
  CHECK((autocast - fp32).abs().max().item<float>() < 1e-5);
}

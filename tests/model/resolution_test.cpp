// Another input resolution than the checkpoint's (users fine-tune at 512² for speed): the load-time
// resize of the position embedding and the global rel-pos tables, and a model at the new size that
// loads, tells its own size from its shapes, and segments.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <regex>

#include "medsam/infer/predictor.h"
#include "medsam/io/image.h"
#include "medsam/io/pth.h"
#include "medsam/model/attention.h"
#include "medsam/model/build_sam.h"
#include "medsam/model/presets.h"
#include "medsam/model/resolution.h"
#include "medsam/model/weights.h"
#include "tests/support/run_command.h"
#include "tests/support/fixtures.h"
#include "tests/support/tiny_sam.h"

using namespace medsam;

namespace {

// The tiny preset (256², 16x16 tokens, global blocks 1 and 3) at another input size.
Sam tiny_at(int size) { return build_sam(at_input_size(model_preset("tiny"), size)); }

const at::Tensor& find(const NamedTensors& tensors, const std::string& key) {
  for (const auto& [k, t] : tensors)
    if (k == key) return t;
  FAIL("no tensor " << key);
  static at::Tensor none;
  return none;
}
}  // namespace

TEST_CASE("at_input_size sets the encoder and prompt encoder sizes together and refuses other multiples",
          "[model]") {
  const ModelConfig c = at_input_size(model_preset("vit_b"), 512);
  CHECK(c.image_encoder.img_size == 512);
  CHECK(c.prompt_encoder.input_image_size == 512);
  CHECK(c.prompt_encoder.image_embedding_size == 32);
  CHECK(c.arch == "vit_b");
  CHECK_THROWS_WITH(at_input_size(model_preset("vit_b"), 500), Catch::Contains("multiple of the patch size 16"));
}

TEST_CASE("load-time resize: rel-pos tables as SAM's get_rel_pos resizes them at run time, the position "
          "embedding smoothly, nothing else touched", "[model]") {
  const Checkpoint ck = read_checkpoint(test::tiny_checkpoint());
  Sam small = tiny_at(128);  // 8x8 tokens: global tables 2*8-1 = 15 rows instead of 31
  NamedTensors tensors = ck.tensors;
  const auto lines = resize_to_model_resolution(tensors, module_tensors(*small));
  REQUIRE(lines.size() == 5);  // pos_embed + rel_pos_h/w of global blocks 1 and 3
  CHECK_THAT(lines[0], Catch::StartsWith("image_encoder.pos_embed 16x16 -> 8x8"));
  const std::regex global(R"(image_encoder\.blocks\.[13]\.attn\.rel_pos_[hw])");
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [key, t] = tensors[i];
    const at::Tensor& before = ck.tensors[i].second;
    if (std::regex_match(key, global)) {
      INFO(key);
      REQUIRE(t.sizes() == at::IntArrayRef({15, before.size(1)}));
      // SAM with the original table resizes it inside get_rel_pos on every call; ours is resized once.
      CHECK(torch::allclose(get_rel_pos(8, 8, t), get_rel_pos(8, 8, before), 1e-6, 1e-6));
    } else if (key != "image_encoder.pos_embed") {
      INFO(key);
      CHECK(t.is_same(before));  // windowed tables, weights, decoder: untouched
    }
  }

  // Position embedding: a linear field stays linear inside (symmetric filters, weights summing to 1);
  // output cell i of a 2x shrink sits at input coordinate 2i + 0.5.
  const auto ys = torch::arange(16, torch::kFloat).view({1, 16, 1, 1}), xs = torch::arange(16, torch::kFloat).view({1, 1, 16, 1});
  NamedTensors field{{"image_encoder.pos_embed", (0.3 * ys + 0.7 * xs + torch::zeros({1, 16, 16, 96})).contiguous()}};
  resize_to_model_resolution(field, module_tensors(*small));
  const at::Tensor p = field[0].second;
  REQUIRE(p.sizes() == at::IntArrayRef({1, 8, 8, 96}));
  for (int i = 2; i < 6; ++i)
    for (int j = 2; j < 6; ++j) CHECK(p[0][i][j][5].item<float>() == Approx(0.3 * (2 * i + 0.5) + 0.7 * (2 * j + 0.5)).margin(1e-4));
  NamedTensors constant{{"image_encoder.pos_embed", torch::full({1, 16, 16, 96}, 0.25)}};
  resize_to_model_resolution(constant, module_tensors(*tiny_at(512)));  // growing: 32x32
  CHECK(constant[0].second.sizes() == at::IntArrayRef({1, 32, 32, 96}));
  CHECK((constant[0].second - 0.25).abs().max().item<float>() < 1e-6);
}

TEST_CASE("a 256² checkpoint loads into a 128² model, and the 128² model's own file is known by its shapes",
          "[model]") {
  Sam small = tiny_at(128);
  const WeightsReport r = load_weights(*small, test::tiny_checkpoint(), /*strict=*/true);
  CHECK(r.exact());
  CHECK(r.resized.size() == 5);
  const auto dir = test::temp_dir("resolution_ckpt");
  NamedTensors out;
  for (const auto& [k, t] : module_tensors(*small)) out.emplace_back(k, t.detach().clone());
  write_pth(dir + "/tiny128.pth", out);
  const Checkpoint ck = read_checkpoint(dir + "/tiny128.pth");
  CHECK(guess_arch(ck.tensors).empty());  // no preset is 128²
  CHECK(guess_arch(ck.tensors, /*any_input_size=*/true) == "tiny");
  CHECK(checkpoint_input_size(ck.tensors) == 128);
  const ModelConfig c = config_from_checkpoint(ck.tensors, ck.path);
  CHECK(c.image_encoder.img_size == 128);
  CHECK(c.prompt_encoder.image_embedding_size == 8);
  Sam again = build_sam(c);
  const WeightsReport exact = load_weights(*again, ck);
  CHECK(exact.resized.empty());
  CHECK(torch::equal(find(module_tensors(*again), "image_encoder.pos_embed"),
                     find(module_tensors(*small), "image_encoder.pos_embed")));

  // It segments at its size: 8x8 embedding, 32x32 low-res logits, masks at the image's own size.
  infer::Predictor predictor(again, c10::kCPU);
  predictor.set_image(io::read_image(test::tiny_dir() + "/case_z70/image.png"));
  CHECK(predictor.embedding().sizes() == at::IntArrayRef({1, 32, 8, 8}));
  infer::ImagePrompts prompts;
  prompts.boxes = torch::tensor({{46.0f, 50.0f, 86.0f, 90.0f}});
  const auto pred = predictor.predict(prompts);
  CHECK(pred.low_res_logits.sizes() == at::IntArrayRef({1, 1, 32, 32}));
  CHECK(pred.masks.sizes() == at::IntArrayRef({1, 1, 256, 256}));
  CHECK(torch::isfinite(pred.low_res_logits).all().item<bool>());
}

// The Predictor (one embedding, many prompts) and 3D propagation, on the sam_tiny fixture.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>
#include <fstream>

#include "medsam/core/error.h"
#include "medsam/infer/label_map.h"
#include "medsam/infer/predictor.h"
#include "medsam/infer/prompt_file.h"
#include "medsam/infer/volume_infer.h"
#include "medsam/io/image.h"
#include "medsam/io/npy.h"
#include "medsam/model/load_sam.h"
#include "tests/support/run_command.h"
#include "tests/support/fixtures.h"
#include "tests/support/tiny_sam.h"

using namespace medsam;

TEST_CASE("load_sam with arch auto recognises the tiny checkpoint", "[infer]") {
  auto loaded = load_sam(test::tiny_checkpoint(), "auto");
  CHECK(loaded.model->config.arch == "tiny");
  CHECK(loaded.report.exact());
  CHECK(loaded.report.loaded == 202);
  CHECK_THROWS_WITH(load_sam(test::tiny_checkpoint(), "vit_b"), Catch::Contains("weights.pth"));
}

// MedSAM's order (MedSAM_Inference.py, SPEC.md): sigmoid at low resolution, then one bilinear resize.
// Computed here from the fixture's reference logits with plain F::interpolate. (The fixture's own
// prob.npy/mask.png resize first, SAM's order; tests/model/parity_test.cpp checks that variant.)
at::Tensor medsam_probability(const at::Tensor& reference_logits, int64_t h, int64_t w) {
  namespace F = torch::nn::functional;
  return F::interpolate(torch::sigmoid(reference_logits),
                        F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear).align_corners(false));
}

TEST_CASE("Predictor reproduces the reference logits and MedSAM's probability map for a box", "[infer]") {
  auto predictor = test::tiny_predictor();
  for (const char* name : {"case_z70", "case_z90"}) {
    INFO(name);
    const std::string dir = test::tiny_dir() + "/" + name;
    predictor.set_image(io::read_image(dir + "/image.png"));
    CHECK((predictor.embedding() - read_npy(dir + "/embedding.npy")).abs().max().item<double>() < 1e-4);
    infer::ImagePrompts prompts;
    prompts.boxes = test::read_tiny_case(name).box.view({1, 4});
    const auto pred = predictor.predict(prompts);
    const at::Tensor reference_logits = read_npy(dir + "/lowres_logits.npy");
    CHECK((pred.low_res_logits - reference_logits).abs().max().item<double>() < 1e-4);
    const at::Tensor prob = medsam_probability(reference_logits, 256, 256)[0][0];
    CHECK((pred.probabilities[0][0] - prob).abs().max().item<double>() < 1e-4);
    // Pixels within 1e-3 of the 0.5 threshold may flip between implementations; all others must agree.
    const at::Tensor decided = (prob - 0.5).abs() > 1e-3;
    CHECK(torch::equal(pred.masks[0][0].masked_select(decided), (prob > 0.5).to(at::kByte).masked_select(decided)));
    CHECK(pred.masks[0][0].sum().item<int64_t>() > 100);  // a real object, not an empty mask
  }
}

TEST_CASE("a stored embedding gives the same prediction as running the encoder", "[infer]") {
  auto predictor = test::tiny_predictor();
  const std::string dir = test::tiny_dir() + "/case_z70";
  infer::ImagePrompts prompts;
  prompts.boxes = test::read_tiny_case("case_z70").box.view({1, 4});
  predictor.set_embedding(read_npy(dir + "/embedding.npy"), 256, 256);
  const auto from_file = predictor.predict(prompts);
  CHECK((from_file.low_res_logits - read_npy(dir + "/lowres_logits.npy")).abs().max().item<double>() < 1e-4);
  CHECK_THROWS_WITH(predictor.set_embedding(torch::zeros({1, 16, 16, 16}), 256, 256),
                    Catch::Contains("needs [1, 32, 16, 16]"));
}

TEST_CASE("bad boxes and points are rejected naming the prompt", "[infer]") {
  auto predictor = test::tiny_predictor();
  predictor.set_embedding(read_npy(test::tiny_dir() + "/case_z70/embedding.npy"), 200, 300);  // H 200, W 300
  infer::ImagePrompts p;
  p.boxes = torch::tensor({{10.f, 10.f, 50.f, 50.f}, {60.f, 10.f, 40.f, 50.f}});
  CHECK_THROWS_WITH(predictor.predict(p), Catch::Contains("box 2 (60,10,40,50) is inverted"));
  p.boxes = torch::tensor({{std::nanf(""), 10.f, 40.f, 50.f}});
  CHECK_THROWS_WITH(predictor.predict(p), Catch::Contains("is inverted"));
  // A structure one pixel wide (inclusive corners x0 == x1) is a box like any other, as in the reference.
  p.boxes = torch::tensor({{10.f, 10.f, 50.f, 50.f}, {60.f, 20.f, 60.f, 90.f}});
  const auto thin = predictor.predict(p);
  CHECK(thin.low_res_logits.size(0) == 2);
  CHECK(torch::isfinite(thin.low_res_logits).all().item<bool>());
  p.boxes = torch::tensor({{10.f, 10.f, 301.f, 50.f}});
  CHECK_THROWS_WITH(predictor.predict(p), Catch::Contains("outside the 300x200 image"));
  infer::ImagePrompts q;
  q.points = torch::tensor({{5.f, 5.f}});
  q.point_labels = torch::tensor({2});
  CHECK_THROWS_WITH(predictor.predict(q), Catch::Contains("point 1 has label 2"));
  q.points = torch::tensor({{std::nanf(""), 5.f}});  // NaN compares false with everything
  q.point_labels = torch::tensor({1});
  CHECK_THROWS_WITH(predictor.predict(q), Catch::Contains("point 1 (nan,5) lies outside"));
  CHECK_THROWS_AS(predictor.predict(infer::ImagePrompts{}), UsageError);
}

TEST_CASE("mask inputs: one per box refines each box with its own map, as SamPredictor.predict_torch",
          "[infer]") {
  auto predictor = test::tiny_predictor();
  predictor.set_embedding(read_npy(test::tiny_dir() + "/case_z70/embedding.npy"), 256, 256);
  infer::ImagePrompts p;
  p.boxes = torch::tensor({{46.f, 50.f, 86.f, 90.f}, {100.f, 120.f, 180.f, 200.f}, {10.f, 10.f, 60.f, 40.f}});
  const auto first = predictor.predict(p);  // low-res logits (3, 1, h, w): what --save-logits writes
  infer::ImagePrompts refine = p;
  refine.mask_input = first.low_res_logits;
  const auto batched = predictor.predict(refine);
  for (int64_t i = 0; i < 3; ++i) {
    INFO("box " << i);
    infer::ImagePrompts one;
    one.boxes = p.boxes.slice(0, i, i + 1);
    one.mask_input = first.low_res_logits.slice(0, i, i + 1);
    const auto alone = predictor.predict(one);
    CHECK((batched.low_res_logits[i] - alone.low_res_logits[0]).abs().max().item<double>() < 1e-4);
  }
  // The mask matters: box 1 refined with box 2's map differs from box 1 refined with its own.
  infer::ImagePrompts swapped;
  swapped.boxes = p.boxes.slice(0, 0, 1);
  swapped.mask_input = first.low_res_logits.slice(0, 1, 2);
  CHECK((predictor.predict(swapped).low_res_logits[0] - batched.low_res_logits[0]).abs().max().item<double>() > 1e-3);
  // Wrong counts are refused naming the shapes; a multimask output too.
  refine.mask_input = first.low_res_logits.slice(0, 0, 2);
  CHECK_THROWS_WITH(predictor.predict(refine), Catch::Contains("or [3, 1,"));
  refine.mask_input = first.low_res_logits.slice(0, 0, 1).expand({1, 3, -1, -1});
  CHECK_THROWS_WITH(predictor.predict(refine), Catch::Contains("3 masks per prompt"));
}

TEST_CASE("a label map keeps the most probable prompt per pixel", "[infer]") {
  at::Tensor prob = torch::zeros({2, 2, 3});
  prob[0][0][0] = 0.9; prob[1][0][0] = 0.6;   // both above 0.5: prompt 1 wins
  prob[0][1][1] = 0.55; prob[1][1][1] = 0.7;  // prompt 2 wins
  prob[1][1][2] = 0.4;                        // below threshold: background
  const at::Tensor labels = infer::compose_label_map(prob);
  CHECK(labels.scalar_type() == at::kByte);
  CHECK(torch::equal(labels, torch::tensor({{1, 0, 0}, {0, 2, 0}}, at::kByte)));
}

TEST_CASE("mask_box is MedSAM's 3D box: the mask at the encoder's resolution, inclusive, grown and clamped",
          "[infer]") {
  at::Tensor m = torch::zeros({30, 30}, at::kByte);
  m.index_put_({torch::indexing::Slice(5, 9), torch::indexing::Slice(2, 12)}, 1);  // rows 5..8, cols 2..11
  // Frame = image: the tight box with inclusive maxima, grown by 3 and clamped at 0.
  CHECK(torch::equal(infer::mask_box(m, 3, 30), torch::tensor({{0.f, 2.f, 14.f, 11.f}})));
  CHECK_FALSE(infer::mask_box(torch::zeros({4, 4}, at::kByte), 3, 1024).defined());
  // A 512² slice with columns and rows 100..110: in 1024² (nearest, floor(x'/2)) pixels 200..221, ±5 ->
  // 195..226, i.e. 97.5..113 in the slice (get_bbox of the reference's cv2-resized mask).
  at::Tensor s = torch::zeros({512, 512}, at::kByte);
  s.index_put_({torch::indexing::Slice(100, 111), torch::indexing::Slice(100, 111)}, 1);
  CHECK(torch::allclose(infer::mask_box(s, 5, 1024), torch::tensor({{97.5f, 97.5f, 113.f, 113.f}})));
  // Shrinking (2048 -> 1024): columns 5..6 show as frame pixels 3..3 (floor(2x') in 5..6).
  at::Tensor big = torch::zeros({2048, 2048}, at::kByte);
  big.index_put_({torch::indexing::Slice(5, 7), torch::indexing::Slice(5, 7)}, 1);
  CHECK(torch::allclose(infer::mask_box(big, 0, 1024), torch::tensor({{6.f, 6.f, 6.f, 6.f}})));
}

TEST_CASE("3D propagation segments the box's slices only, the middle slice from the given box", "[infer]") {
  auto predictor = test::tiny_predictor();
  // A 7-slice volume of the same brain slice: each slice's prediction can be checked against 2D.
  const at::Tensor slice = io::read_image(test::tiny_dir() + "/case_z70/image.png").select(2, 0);  // (256, 256) uint8
  const at::Tensor volume = slice.unsqueeze(0).repeat({7, 1, 1}).contiguous();
  const at::Tensor box = test::read_tiny_case("case_z70").box.view({1, 4});
  const auto b = box[0];
  infer::Box3d box3d{b[0].item<double>(), b[1].item<double>(), 2, b[2].item<double>(), b[3].item<double>(), 5};
  int64_t reported = 0;
  const at::Tensor mask = infer::segment_volume(predictor, volume, box3d, {}, [&](int64_t done, int64_t) { reported = done; });
  CHECK(reported == 4);
  CHECK(mask.sizes() == volume.sizes());
  for (int z : {0, 1, 6}) CHECK(mask[z].sum().item<int64_t>() == 0);
  predictor.set_image(slice);
  infer::ImagePrompts p;
  p.boxes = box;
  CHECK(torch::equal(mask[3], predictor.predict(p).masks[0][0]));  // middle slice (2+5)/2 = 3
  CHECK(mask[4].sum().item<int64_t>() > 0);
  CHECK_THROWS_WITH(infer::segment_volume(predictor, volume, {10, 10, 5, 50, 50, 7}, {}),
                    Catch::Contains("z1 < 7"));
}

TEST_CASE("box files: JSON with labels and CSV with a header", "[infer]") {
  const auto dir = test::temp_dir("box_files");
  std::ofstream(dir + "/b.json") << R"([[1, 2, 30, 40], {"box": [5, 6, 7, 8], "label": 9}])";
  auto json = infer::read_box_file(dir + "/b.json");
  REQUIRE(json.size() == 2);
  CHECK(json[0].x1 == 30);
  CHECK(json[0].label == 0);
  CHECK(json[1].label == 9);
  std::ofstream(dir + "/b.csv") << "x0,y0,x1,y1,label\n1,2,3,4\n# comment\n5,6,7,8,3\n";
  auto csv = infer::read_box_file(dir + "/b.csv");
  REQUIRE(csv.size() == 2);
  CHECK(csv[1].label == 3);
  // Excel's "CSV UTF-8" (a byte-order mark) and a leading space: the first line is data, not a header.
  std::ofstream(dir + "/bom.csv") << "\xEF\xBB\xBF" << "10,20,30,40\n 11,21,31,41\n";
  auto bom = infer::read_box_file(dir + "/bom.csv");
  REQUIRE(bom.size() == 2);
  CHECK(bom[0].x0 == 10);
  std::ofstream(dir + "/spaced.csv") << " 10,20,30,40\n";
  CHECK(infer::read_box_file(dir + "/spaced.csv").size() == 1);
  // A header only as the first line: a word later is an error, not a skipped box.
  std::ofstream(dir + "/late.csv") << "1,2,3,4\nx0,y0,x1,y1\n";
  CHECK_THROWS_WITH(infer::read_box_file(dir + "/late.csv"), Catch::Contains("late.csv:2"));
  std::ofstream(dir + "/bad.csv") << "1,2,3\n";
  CHECK_THROWS_WITH(infer::read_box_file(dir + "/bad.csv"), Catch::Contains("bad.csv:1: expected x0,y0,x1,y1"));
  std::ofstream(dir + "/bad.json") << R"([[1, 2, 3]])";
  CHECK_THROWS_WITH(infer::read_box_file(dir + "/bad.json"), Catch::Contains("entry 0 needs a box of 4 numbers"));
}

// Where boxes overlap: `--box`/`--boxes` give the pixel to the most probable box, .npz cases to the later
// box (the challenge reference's rule). Both rules are pinned here so that changing one is deliberate.
// Many boxes are decoded in chunks (Predictor::predict_chunked) with the label maps of one decoder call.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "medsam/infer/infer_job.h"
#include "medsam/infer/label_map.h"
#include "medsam/infer/npz_case.h"
#include "medsam/infer/predictor.h"
#include "medsam/io/image.h"
#include "medsam/io/npy.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_command.h"
#include "tests/support/tiny_sam.h"

using namespace medsam;

namespace {

std::string label_rules_image() { return test::tiny_dir() + "/case_z70/image.png"; }

// Five boxes on the 256x256 fixture image, overlapping each other.
const std::vector<std::vector<double>> kLabelRulesBoxes = {
    {46, 50, 86, 90}, {40, 44, 100, 100}, {60, 60, 120, 130}, {30, 100, 90, 160}, {50, 50, 80, 80}};

// `medsam infer --box ...` as the library runs it: returns the label map; the probabilities go to prob.npy.
at::Tensor label_rules_infer(const std::vector<std::vector<double>>& boxes, int64_t box_chunk, const std::string& dir) {
  infer::InferJob job;
  job.checkpoint = test::tiny_checkpoint();
  job.image = label_rules_image();
  for (const auto& b : boxes) job.boxes.push_back({b[0], b[1], b[2], b[3]});
  job.propagation.box_chunk = box_chunk;
  job.output = dir + "/labels.png";
  job.save_prob = dir + "/prob.npy";
  job.save_logits = dir + "/logits.npy";
  infer::run_infer_job(job);
  return io::read_image(job.output).squeeze(-1);
}

infer::NpzCase label_rules_npz(const std::vector<std::vector<double>>& boxes) {
  infer::NpzCase c;
  c.path = "case.npz";
  c.imgs = io::read_image(label_rules_image());  // (256, 256, 3) uint8
  std::vector<double> flat;
  for (const auto& b : boxes) flat.insert(flat.end(), b.begin(), b.end());
  c.boxes = torch::tensor(flat, at::kDouble).view({-1, 4});
  return c;
}

}  // namespace

TEST_CASE("overlapping --box prompts: the most probable box takes the pixel, ties the earlier box", "[infer]") {
  const auto dir = test::temp_dir("label_rules_box");
  const at::Tensor labels = label_rules_infer(kLabelRulesBoxes, 0, dir);
  const at::Tensor prob = read_npy(dir + "/prob.npy");  // (5, 256, 256)
  const auto [best, index] = prob.max(0);
  const at::Tensor expected = torch::where(best > 0.5, index + 1, torch::zeros_like(index)).to(at::kByte);
  CHECK(torch::equal(labels, expected));
  // The same box twice: equal probabilities, so the earlier (label 1) takes every pixel; a later-box rule
  // would give them all to label 2.
  const at::Tensor twice = label_rules_infer({kLabelRulesBoxes[0], kLabelRulesBoxes[0]}, 0, dir);
  CHECK((twice == 1).sum().item<int64_t>() > 0);
  CHECK((twice == 2).sum().item<int64_t>() == 0);
}

TEST_CASE("overlapping boxes of an .npz case: the later box takes the pixel, as the challenge reference", "[infer]") {
  auto predictor = test::tiny_predictor();
  const auto c = label_rules_npz(kLabelRulesBoxes);
  const at::Tensor segs = infer::segment_npz_case(predictor, c, c.imgs);
  // ref: CVPR24_LiteMedSAM_infer.py MedSAM_infer_npz_2D: segs[mask > 0] = idx, box after box.
  at::Tensor expected = torch::zeros({256, 256}, at::kByte);
  for (int64_t k = 0; k < 5; ++k) {
    infer::ImagePrompts one;
    one.boxes = c.boxes.slice(0, k, k + 1).to(at::kFloat);
    expected.masked_fill_(predictor.predict(one).masks[0][0] > 0, k + 1);
  }
  CHECK(torch::equal(segs, expected));
  const auto twice = label_rules_npz({kLabelRulesBoxes[0], kLabelRulesBoxes[0]});
  const at::Tensor later = infer::segment_npz_case(predictor, twice, twice.imgs);
  CHECK((later == 2).sum().item<int64_t>() > 0);
  CHECK((later == 1).sum().item<int64_t>() == 0);
}

TEST_CASE("boxes decoded in chunks give the label maps, probabilities and logits of one decoder call", "[infer]") {
  // box_chunk 2: five boxes in three decoder calls (2, 2, 1); 0: automatic, one call for 256² images.
  const auto whole_dir = test::temp_dir("label_rules_whole");
  const auto chunk_dir = test::temp_dir("label_rules_chunked");
  const at::Tensor whole = label_rules_infer(kLabelRulesBoxes, 0, whole_dir);
  const at::Tensor chunked = label_rules_infer(kLabelRulesBoxes, 2, chunk_dir);
  CHECK((whole > 0).sum().item<int64_t>() > 0);
  CHECK(torch::equal(chunked, whole));
  CHECK(torch::equal(read_npy(chunk_dir + "/prob.npy"), read_npy(whole_dir + "/prob.npy")));
  CHECK(torch::equal(read_npy(chunk_dir + "/logits.npy"), read_npy(whole_dir + "/logits.npy")));

  auto predictor = test::tiny_predictor();
  const auto c = label_rules_npz(kLabelRulesBoxes);
  infer::PropagationOptions one_call, in_twos;
  in_twos.box_chunk = 2;
  CHECK(torch::equal(infer::segment_npz_case(predictor, c, c.imgs, in_twos),
                     infer::segment_npz_case(predictor, c, c.imgs, one_call)));
}

TEST_CASE("predict_chunked hands over the chunks in box order and names a bad box by its index among all", "[infer]") {
  auto predictor = test::tiny_predictor();
  predictor.set_image(io::read_image(label_rules_image()));
  infer::ImagePrompts prompts;
  prompts.boxes = torch::tensor({10.0, 10.0, 60.0, 60.0, 20.0, 20.0, 90.0, 90.0, 30.0, 30.0, 70.0, 70.0}).view({3, 4}).to(at::kFloat);
  std::vector<int64_t> firsts, sizes;
  predictor.predict_chunked(prompts, false, 0.5, 2, [&](int64_t first, const infer::ImagePrediction& p) {
    firsts.push_back(first);
    sizes.push_back(p.probabilities.size(0));
  });
  const std::vector<int64_t> expected_firsts{0, 2}, expected_sizes{2, 1};
  CHECK(firsts == expected_firsts);
  CHECK(sizes == expected_sizes);
  prompts.boxes[2][2] = 400;  // box 3 is checked before chunk 1 is decoded
  int calls = 0;
  CHECK_THROWS_WITH(predictor.predict_chunked(prompts, false, 0.5, 2, [&](int64_t, const infer::ImagePrediction&) { ++calls; }),
                    Catch::Contains("box 3 (30,30,400,70)"));
  CHECK(calls == 0);
}

TEST_CASE("a label map composed chunk by chunk equals the one of all maps at once, ties included", "[infer]") {
  torch::manual_seed(5);
  at::Tensor prob = torch::rand({7, 9, 11});
  prob[5].copy_(prob[1]);  // equal maps in different chunks: the earlier prompt keeps the pixel
  prob[2][0].fill_(1.0);   // and a tie at the top value: prompt 3, not 7
  prob[6][0].fill_(1.0);
  const at::Tensor all = infer::compose_label_map(prob);
  CHECK(torch::equal(all[0], torch::full({11}, 3, at::kByte)));
  for (int64_t chunk : {1, 2, 3, 7}) {
    INFO("chunk " << chunk);
    infer::LabelMapComposer composer(9, 11, 7);
    for (int64_t first = 0; first < 7; first += chunk) composer.add(first, prob.slice(0, first, std::min<int64_t>(7, first + chunk)));
    CHECK(torch::equal(composer.labels(), all));
  }
  CHECK(infer::LabelMapComposer(2, 2, 256).labels().scalar_type() == at::kInt);
}

TEST_CASE("box chunks keep one chunk's float maps under 256 MiB, 1 to 64 boxes", "[infer]") {
  CHECK(infer::box_chunk_size(2000, 2000) == 16);     // 16 MB per map: 268435456 / 16e6 = 16.8
  CHECK(infer::box_chunk_size(2000, 2000, 3) == 5);   // --multimask: three maps per box
  CHECK(infer::box_chunk_size(256, 256) == 64);       // 1024 would fit; the decoder's own batch is capped
  CHECK(infer::box_chunk_size(30000, 30000) == 1);    // one map over the budget: still one box a call
}

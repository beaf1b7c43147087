// evaluate_model on shards prepared from real MRI (Colin27 crop + AAL) with the tiny fixture model.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "medsam/core/error.h"
#include "medsam/data/manifest.h"
#include "medsam/data/shard_reader.h"
#include "medsam/eval/dice.h"
#include "medsam/eval/metrics_report.h"
#include "medsam/eval/model_eval.h"
#include "medsam/eval/surface_distance.h"
#include "medsam/infer/predictor.h"
#include "medsam/io/image.h"
#include "medsam/io/volume.h"
#include "medsam/model/load_sam.h"
#include "tests/eval/colin_shards.h"
#include "tests/support/skip.h"

using namespace medsam;
using namespace medsam::eval;

namespace {

Sam tiny_model() { return load_sam(test::tiny_checkpoint()).model; }

// The stored samples of one split, decoded straight from the shards (not through medsam/eval).
std::vector<data::ShardSample> stored_samples(const std::string& dir, const std::string& split) {
  const auto manifest = data::Manifest::load(dir + "/manifest.json");
  std::vector<data::ShardSample> out;
  for (const auto& s : manifest.shards) {
    if (data::split_name(s.info.split) != split) continue;
    data::ShardReader reader(dir + "/" + s.info.name);
    for (std::size_t i = 0; i < reader.size(); ++i) out.push_back(reader.read(i));
  }
  return out;
}

// (sample, label) pairs with at least `min_pixels` pixels, and the samples holding one, counted from
// the decoded label maps.
std::pair<int64_t, int64_t> count_objects(const std::vector<data::ShardSample>& samples, int64_t min_pixels) {
  int64_t objects = 0, with_objects = 0;
  for (const auto& s : samples) {
    const auto counts = torch::bincount(s.labels.flatten().to(torch::kLong));
    int64_t here = 0;
    for (int64_t label = 1; label < counts.numel(); ++label) here += counts[label].item<int64_t>() >= min_pixels;
    objects += here;
    with_objects += here > 0;
  }
  return {objects, with_objects};
}

// Inclusive tight box of a mask, as MedSAM cuts it from the ground truth.
at::Tensor tight_box_of(const at::Tensor& mask) {
  const auto ys = mask.any(1).nonzero(), xs = mask.any(0).nonzero();
  return torch::tensor({xs.min().item<float>(), ys.min().item<float>(), xs.max().item<float>(), ys.max().item<float>()});
}

}  // namespace

TEST_CASE("evaluate_model scores every (sample, label) pair of the split with enough pixels", "[eval][model_eval]") {
  MEDSAM_NEEDS_ITK("shards of the Colin27 NIfTI crop");
  const auto& dir = test::colin_shards();
  const auto samples = stored_samples(dir, "val");
  REQUIRE(samples.size() >= 3);
  // The threshold is the median object size, so it drops some objects and keeps others.
  std::vector<int64_t> sizes;
  for (const auto& s : samples) {
    const auto counts = torch::bincount(s.labels.flatten().to(torch::kLong));
    for (int64_t label = 1; label < counts.numel(); ++label)
      if (counts[label].item<int64_t>() > 0) sizes.push_back(counts[label].item<int64_t>());
  }
  std::sort(sizes.begin(), sizes.end());
  const int64_t threshold = sizes[sizes.size() / 2];
  const auto [all, all_samples] = count_objects(samples, 1);
  const auto [big, big_samples] = count_objects(samples, threshold);
  REQUIRE(all_samples == static_cast<int64_t>(samples.size()));  // prep stores only slices with labels
  REQUIRE(big < all);
  REQUIRE(big > 0);

  Sam model = tiny_model();
  ModelEvalOptions options;
  options.shards_dir = dir;
  options.split = "val";
  options.min_object_pixels = threshold;
  std::vector<std::pair<int64_t, int64_t>> calls;
  const auto result = evaluate_model(model, options, [&](int64_t done, int64_t total) { calls.emplace_back(done, total); });
  CHECK(static_cast<int64_t>(result.scores.size()) == big);
  REQUIRE(static_cast<int64_t>(calls.size()) == big_samples);  // once per sample with an object to score
  CHECK(calls.back().first == big_samples);
  CHECK(calls.back().second == big_samples);

  std::vector<double> dsc, nsd;
  for (const auto& s : result.scores) {
    CHECK(s.dataset == "colin");
    CHECK(s.modality == "mr");
    CHECK(s.case_id == "image");
    CHECK(s.label > 0);
    CHECK(s.dsc >= 0.0);
    CHECK(s.dsc <= 1.0);
    CHECK(s.nsd >= 0.0);
    CHECK(s.nsd <= 1.0);
    dsc.push_back(s.dsc);
    nsd.push_back(s.nsd);
  }
  // Sample order (val slices ascending), then label order inside a sample.
  for (std::size_t i = 1; i < result.scores.size(); ++i) {
    const auto &a = result.scores[i - 1], &b = result.scores[i];
    CHECK((a.slice < b.slice || (a.slice == b.slice && a.label < b.label)));
  }
  CHECK(result.mean_dsc == Approx(compute_stats(dsc).mean));
  CHECK(result.median_dsc == Approx(compute_stats(dsc).median));
  CHECK(result.mean_nsd == Approx(compute_stats(nsd).mean));
  CHECK(result.median_nsd == Approx(compute_stats(nsd).median));

  // max_samples keeps the first N samples of that order.
  options.max_samples = 2;
  const auto first_two = evaluate_model(model, options);
  REQUIRE(!first_two.scores.empty());
  CHECK(first_two.scores.back().slice == result.scores[first_two.scores.size() - 1].slice);
  CHECK(first_two.scores.size() < result.scores.size());
}

TEST_CASE("evaluate_model with tight boxes is deterministic, jitter depends on the seed only", "[eval][model_eval]") {
  MEDSAM_NEEDS_ITK("shards of the Colin27 NIfTI crop");
  Sam model = tiny_model();
  ModelEvalOptions options;
  options.shards_dir = test::colin_shards();
  options.max_samples = 2;
  auto run = [&] {
    std::vector<double> v;
    for (const auto& s : evaluate_model(model, options).scores) {
      v.push_back(s.dsc);
      v.push_back(s.nsd);
    }
    return v;
  };
  const auto tight = run();
  CHECK(run() == tight);
  options.jitter_px = 6;
  options.seed = 1;
  const auto jittered = run();
  CHECK(run() == jittered);
  CHECK(jittered != tight);
  options.seed = 2;
  CHECK(run() != jittered);
}

TEST_CASE("evaluate_model's scores are dice() and NSD of the predictor's own masks at the slice's spacing",
          "[eval][model_eval]") {
  MEDSAM_NEEDS_ITK("shards of the Colin27 NIfTI crop");
  const auto& dir = test::colin_shards();
  const auto sample = stored_samples(dir, "val").front();
  // The crop is 40 (x) x 48 (y) voxels of 1 mm, stored at 64x64: a pixel spans 48/64 mm by 40/64 mm.
  const auto volume = io::read_volume(std::string(MEDSAM_FIXTURES_DIR) + "/colin27_crop/labels.nii.gz");
  const std::vector<double> spacing{volume.geometry.spacing[1] * volume.data.size(1) / 64.0,
                                    volume.geometry.spacing[0] * volume.data.size(2) / 64.0};
  CHECK(spacing[0] == Approx(0.75));
  CHECK(spacing[1] == Approx(0.625));

  // The predictor on the stored image, one tight box per label, one decoder batch.
  std::vector<int64_t> labels;
  std::vector<at::Tensor> boxes;
  const auto ids = std::get<0>(at::_unique(sample.labels.flatten()));
  for (int64_t i = 0; i < ids.numel(); ++i) {
    const int64_t label = ids[i].item<int64_t>();
    if (label == 0) continue;
    labels.push_back(label);
    auto box = tight_box_of(sample.labels == label);
    // A one-pixel-wide object gets its far side one pixel out (what evaluate_model documents).
    if (box[2].item<float>() <= box[0].item<float>()) box[2].add_(1);
    if (box[3].item<float>() <= box[1].item<float>()) box[3].add_(1);
    boxes.push_back(box);
  }
  infer::Predictor predictor(load_sam(test::tiny_checkpoint()).model, c10::kCPU);
  predictor.set_image(sample.image);
  infer::ImagePrompts prompts;
  prompts.boxes = torch::stack(boxes);
  const auto pred = predictor.predict(prompts);

  Sam model = tiny_model();
  model->train(true);
  ModelEvalOptions options;
  options.shards_dir = dir;
  options.max_samples = 1;
  const auto result = evaluate_model(model, options);
  CHECK(model->is_training());  // the caller's mode is restored
  REQUIRE(result.scores.size() == labels.size());
  bool some_overlap = false;
  for (std::size_t k = 0; k < labels.size(); ++k) {
    INFO("label " << labels[k]);
    CHECK(result.scores[k].label == labels[k]);
    const auto mask = pred.masks[static_cast<int64_t>(k)][0], gt = sample.labels == labels[k];
    CHECK(result.scores[k].dsc == Approx(dice(mask, gt)).margin(1e-12));
    const double expected_nsd = mask.any().item<bool>() ? normalized_surface_dice(mask, gt, spacing, 2.0) : 0.0;
    CHECK(result.scores[k].nsd == Approx(expected_nsd).margin(1e-12));
    some_overlap = some_overlap || result.scores[k].dsc > 0;
  }
  CHECK(some_overlap);  // random weights, but the box-shaped prompts still overlap some objects

  model->eval();
  evaluate_model(model, options);
  CHECK_FALSE(model->is_training());
}

TEST_CASE("evaluate_model names a bad split and an empty one", "[eval][model_eval]") {
  MEDSAM_NEEDS_ITK("shards of the Colin27 NIfTI crop");
  Sam model = tiny_model();
  ModelEvalOptions options;
  options.shards_dir = test::colin_shards();
  options.split = "validation";
  CHECK_THROWS_AS(evaluate_model(model, options), UsageError);
  CHECK_THROWS_WITH(evaluate_model(model, options), Catch::Contains("'validation'") && Catch::Contains("train, val or test"));
  options.split = "test";  // this dataset has no test split
  CHECK_THROWS_WITH(evaluate_model(model, options), Catch::Contains("split 'test' has no sample"));
  options.split = "val";
  options.shards_dir = test::temp_dir("model_eval_nothing");
  CHECK_THROWS_WITH(evaluate_model(model, options), Catch::Contains("manifest.json"));
}

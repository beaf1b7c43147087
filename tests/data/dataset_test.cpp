#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <sys/resource.h>

#include "medsam/core/error.h"
#include "medsam/data/augment.h"
#include "medsam/data/balance.h"
#include "medsam/data/dataset.h"
#include "medsam/data/open_file_limit.h"
#include "medsam/data/shard_format.h"
#include "tests/data/synthetic_shards.h"
#include "tests/support/run_command.h"

using namespace medsam::data;
using medsam::test::SyntheticDataset;

TEST_CASE("the dataset lists samples with their eligible objects and skips small ones", "[data][dataset]") {
  const auto dir = medsam::test::temp_dir("dataset_list");
  medsam::test::write_synthetic(dir, {{"ct_set", Modality::kCt, 6}, {"mr_set", Modality::kMr, 4}});
  const TrainingDataset all(dir, "train");
  REQUIRE(all.size() == 10);
  // Objects: label 1 and the 9 px speck everywhere, label 2 on even samples: 6 + 3 + 4 + 2 + 2 * 10.
  CHECK(all.object_count() == 10 + 5 + 10);
  CHECK(all.labels(0) == std::vector<std::uint16_t>{1, 2, 9});
  CHECK(all.labels(1) == std::vector<std::uint16_t>{1, 9});
  const TrainingDataset big(dir, "train", 10);  // the 9 px speck is below 10 px
  CHECK(big.labels(0) == std::vector<std::uint16_t>{1, 2});
  CHECK(big.object_count() == 15);
  CHECK(big.key(7) == "mr_set/c1/z0001");
  CHECK(big.dataset_name(7) == "mr_set");
  CHECK(big.item(7).modality == static_cast<std::uint8_t>(Modality::kMr));
  CHECK_THROWS_WITH(TrainingDataset(dir, "train", 100000), Catch::Contains("no sample"));
  CHECK_THROWS_AS(TrainingDataset(dir, "val"), medsam::Error);
}

TEST_CASE("a decoded sample is the stored bytes and label map, as float 3-channel, min-max to [0, 1]",
          "[data][dataset]") {
  const auto dir = medsam::test::temp_dir("dataset_load");
  medsam::test::write_synthetic(dir, {{"ct_set", Modality::kCt, 3}});
  const TrainingDataset ds(dir, "train");
  const auto s = ds.load(2, 64);
  REQUIRE(s.image.sizes() == torch::IntArrayRef({1, 64, 64}));  // grey: one plane
  const auto raw = medsam::test::synth_image(2);
  CHECK(s.image[0].equal(raw.to(torch::kByte).reshape({64, 64})));
  CHECK(s.lo == raw.min().item<int>());
  CHECK(s.hi == raw.max().item<int>());
  const auto image = to_unit_float(AugmentParams{}, s.image, s.lo, s.hi);
  REQUIRE(image.sizes() == torch::IntArrayRef({3, 64, 64}));
  CHECK(image.min().item<float>() == 0.f);
  CHECK(image.max().item<float>() == 1.f);
  CHECK(image[0].equal(image[2]));  // grey repeated
  const auto rawf = raw.to(torch::kFloat).reshape({64, 64});
  const auto expect = (rawf - rawf.min()) / (rawf.max() - rawf.min());
  CHECK(torch::allclose(image[1], expect));
  CHECK(s.labels.equal(medsam::test::synth_labels(2)));
  // Another S: nearest-neighbour labels keep their ids.
  const auto up = ds.load(2, 128);
  CHECK(up.image.size(2) == 128);
  CHECK(up.labels.size(0) == 128);
  CHECK(std::get<0>(at::_unique(up.labels)).equal(torch::tensor({0, 1, 2, 9}, torch::kInt)));
}

TEST_CASE("a 2D image sample is divided by 255 (MedSAM's pre_grey_rgb.py), not min-maxed like a slice",
          "[data][dataset]") {
  const auto dir = medsam::test::temp_dir("dataset_load_2d");
  medsam::test::write_synthetic(dir, {{"photos", Modality::kDermoscopy, 3, kAxis2dImage}});
  const TrainingDataset ds(dir, "train");
  const auto s = ds.load(2, 64);
  CHECK(s.lo == 0);
  CHECK(s.hi == 255);
  const auto raw = medsam::test::synth_image(2).to(torch::kFloat);  // spans 20..219
  const auto image = to_unit_float(AugmentParams{}, s.image, s.lo, s.hi);
  CHECK(torch::allclose(image[0], raw / 255.f));
  CHECK(image.max().item<float>() == Approx(raw.max().item<float>() / 255.f));
}

TEST_CASE("balance weights give each group its configured share", "[data][dataset]") {
  const auto dir = medsam::test::temp_dir("dataset_balance");
  medsam::test::write_synthetic(dir, {{"ct_set", Modality::kCt, 8}, {"mr_set", Modality::kMr, 2}});
  const TrainingDataset ds(dir, "train");
  BalanceConfig cfg;
  CHECK(group_weights(ds, cfg).empty());
  cfg.by = "modality";
  cfg.weights = {"ct=1", "MRI=3"};
  auto w = group_weights(ds, cfg);
  REQUIRE(w.size() == 10);
  CHECK(w[0] == Approx(1.0 / 8));
  CHECK(w[9] == Approx(3.0 / 2));
  cfg.by = "dataset";
  cfg.weights = {"mr_set=1"};
  cfg.default_weight = 0;
  w = group_weights(ds, cfg);
  CHECK(w[0] == 0.0);
  CHECK(w[9] == Approx(0.5));
  cfg.weights = {"nope=1"};
  CHECK_THROWS_WITH(group_weights(ds, cfg), Catch::Contains("nope"));
  cfg.weights = {"mr_set"};
  CHECK_THROWS_AS(group_weights(ds, cfg), medsam::ConfigError);
}

TEST_CASE("the open-file limit is raised for the shards a run keeps open, or the error names the limit", "[data][dataset]") {
  rlimit original{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &original) == 0);
  const std::int64_t open_now = open_file_count();
  CHECK(open_now >= 3);  // stdin, stdout, stderr at least
  if (original.rlim_max != RLIM_INFINITY && static_cast<std::int64_t>(original.rlim_max) < open_now + 2000) {
    WARN("hard open-file limit " << original.rlim_max << " too low for this test");
    return;
  }
  rlimit low = original;
  low.rlim_cur = static_cast<rlim_t>(open_now + 300);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  reserve_open_files(10, "small");  // fits: unchanged
  rlimit now{};
  ::getrlimit(RLIMIT_NOFILE, &now);
  CHECK(now.rlim_cur == low.rlim_cur);
  reserve_open_files(1000, "many shards");  // 1000 + margin: raised
  ::getrlimit(RLIMIT_NOFILE, &now);
  CHECK(static_cast<std::int64_t>(now.rlim_cur) >= open_now + 1000);
  if (original.rlim_max != RLIM_INFINITY)
    CHECK_THROWS_WITH(reserve_open_files(static_cast<std::int64_t>(original.rlim_max), "data /d split 'train'"),
                      Catch::Contains("data /d split 'train'") && Catch::Contains("ulimit -Hn") &&
                          Catch::Contains("output.shard_bytes"));
  ::setrlimit(RLIMIT_NOFILE, &original);
}

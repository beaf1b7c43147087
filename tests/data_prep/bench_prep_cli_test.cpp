// `medsam bench prep` converts a dataset and reports slices/s and bytes per sample.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "medsam/data/manifest.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"

TEST_CASE("bench prep reports throughput and bytes per sample of a real conversion", "[data][prep][cli]") {
  MEDSAM_NEEDS_ITK("the Colin27 NIfTI crop");
  const std::string crop = std::string(MEDSAM_FIXTURES_DIR) + "/colin27_crop";
  const auto dir = medsam::test::temp_dir("bench_prep");
  std::ofstream(dir + "/ds.yaml") << "dataset:\n  name: colin\n  modality: mr\n  images: " << crop
                                  << "/image.nii.gz\n  labels: " << crop << "/labels.nii.gz\n"
                                  << "output:\n  image_size: 64\nsplit:\n  mode: none\n";
  const auto r = medsam::test::run_medsam("bench prep " + dir + "/ds.yaml -j 2 --output " + dir + "/out");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto m = medsam::data::Manifest::load(dir + "/out/manifest.json");
  const auto samples = m.by_split.at("train").samples;
  REQUIRE(samples > 0);
  CHECK_THAT(r.out, Catch::Contains("(64x64 stored, workers=2, intra-op threads=1): 1 cases, " +
                                    std::to_string(samples) + " slices"));
  CHECK_THAT(r.out, Catch::Contains("slices/s") && Catch::Contains("KB/sample in tar"));
  // A second run starts from scratch (it must not report a resumed, already complete folder).
  const auto again = medsam::test::run_medsam("bench prep " + dir + "/ds.yaml --output " + dir + "/out");
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("1 cases, " + std::to_string(samples) + " slices"));
}

TEST_CASE("bench prep and bench index refuse a folder that holds something other than their own scratch",
          "[data][prep][cli]") {
  // What `medsam prep` made is not a bench's to overwrite, whatever --output / --dir says.
  const auto dir = medsam::test::temp_dir("bench_refuses");
  std::ofstream(dir + "/manifest.json") << "{\"a real\": \"dataset\"}";
  const auto index = medsam::test::run_medsam("bench index --samples 10 --dir " + dir);
  CHECK(index.exit_code == 2);
  CHECK_THAT(index.err, Catch::Contains(dir + " is not empty and not a bench's scratch folder"));
  const auto config_dir = medsam::test::temp_dir("bench_refuses_config");
  std::ofstream(config_dir + "/ds.yaml") << "dataset:\n  name: x\n  modality: mr\n  images: a.nii.gz\n  labels: b.nii.gz\n";
  const auto prep = medsam::test::run_medsam("bench prep " + config_dir + "/ds.yaml --output " + dir);
  CHECK(prep.exit_code == 2);
  CHECK_THAT(prep.err, Catch::Contains("not a bench's scratch folder"));
  std::ifstream kept(dir + "/manifest.json");
  CHECK(std::string(std::istreambuf_iterator<char>(kept), {}) == "{\"a real\": \"dataset\"}");
  // A new folder is the bench's; running again into it is allowed.
  for (int run = 0; run < 2; ++run) {
    const auto ok = medsam::test::run_medsam("bench index --samples 10 --per-shard 5 --dir " + dir + "/scratch");
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
  }
}

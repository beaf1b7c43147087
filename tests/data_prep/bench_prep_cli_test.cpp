// `medsam bench prep` converts a dataset and reports slices/s and bytes per sample.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

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

// Paths of the committed fixtures and configs the tests share, and shards made from the Colin27 crop
// (tests/fixtures/colin27_crop: 40x48x12 voxels of real MRI with AAL labels) through `medsam prep`.
#pragma once

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "tests/support/run_command.h"

namespace medsam::test {

inline std::string fixture(const std::string& relative) { return std::string(MEDSAM_FIXTURES_DIR) + "/" + relative; }
inline std::string source_file(const std::string& relative) { return std::string(MEDSAM_SOURCE_DIR) + "/" + relative; }

// The random-weight tiny SAM every training and evaluation test starts from.
inline std::string tiny_checkpoint() { return fixture("sam_tiny/weights.pth"); }
// 40x48x12 voxels of Colin27 MRI with AAL labels: image.nii.gz, labels.nii.gz.
inline std::string colin27_crop_dir() { return fixture("colin27_crop"); }
// The smallest real training recipe (tiny preset, a few steps).
inline std::string smoke_config() { return source_file("configs/train/tiny_smoke.yaml"); }

// Writes DIR/ds.yaml for the Colin27 crop — `dataset_lines` go inside its dataset: section, `sections`
// (output:, split:, ...) follow it — runs `medsam prep` and returns DIR/data. Needs ITK (NIfTI).
inline std::string prep_colin27_crop(const std::string& dir, const std::string& sections,
                                     const std::string& dataset_lines = "") {
  const std::string crop = fixture("colin27_crop");
  std::ofstream(dir + "/ds.yaml") << "dataset:\n  name: colin\n  modality: mr\n  anatomy: brain\n"
                                  << "  images: " << crop << "/image.nii.gz\n  labels: " << crop << "/labels.nii.gz\n"
                                  << dataset_lines << sections;
  const auto prep = run_medsam("prep " + dir + "/ds.yaml --output " + dir + "/data");
  INFO(prep.err);
  REQUIRE(prep.exit_code == 0);
  return dir + "/data";
}

}  // namespace medsam::test

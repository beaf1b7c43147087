// Shards prepared once per test process from the Colin27 crop (tests/fixtures/colin27_crop: 40x48x12
// voxels of 1 mm, AAL labels), stored at 64x64, split by slice into train and val (no test split).
#pragma once

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "tests/support/run_command.h"

namespace medsam::test {

inline const std::string& colin_shards() {
  static const std::string dir = [] {
    const std::string d = temp_dir("eval_colin_shards");
    const std::string crop = std::string(MEDSAM_FIXTURES_DIR) + "/colin27_crop";
    // Slice mode, blocks of 2, no gap, half/half: blocks 0, 2, 5 (slices 0-1, 4-5, 10-11) are val.
    std::ofstream(d + "/ds.yaml") << "dataset:\n  name: colin\n  modality: mr\n  anatomy: brain\n"
                                  << "  images: " << crop << "/image.nii.gz\n  labels: " << crop << "/labels.nii.gz\n"
                                  << "  label_names_file: " << crop << "/labels.txt\n"
                                  << "output:\n  image_size: 64\n"
                                  << "split:\n  mode: slice\n  fractions: [0.5, 0.5, 0.0]\n  block: 2\n  gap: 0\n";
    const auto prep = run_medsam("prep " + d + "/ds.yaml --output " + d + "/data");
    INFO(prep.err);
    REQUIRE(prep.exit_code == 0);
    return d + "/data";
  }();
  return dir;
}

inline std::string tiny_checkpoint() { return std::string(MEDSAM_FIXTURES_DIR) + "/sam_tiny/weights.pth"; }

}  // namespace medsam::test

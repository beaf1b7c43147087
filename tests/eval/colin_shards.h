// Shards prepared once per test process from the Colin27 crop (tests/fixtures/colin27_crop: 40x48x12
// voxels of 1 mm, AAL labels), stored at 64x64, split by slice into train and val (no test split).
#pragma once

#include <string>

#include "tests/support/fixtures.h"

namespace medsam::test {

inline const std::string& colin_shards() {
  // Slice mode, blocks of 2, no gap, half/half: blocks 0, 2, 5 (slices 0-1, 4-5, 10-11) are val.
  static const std::string dir =
      prep_colin27_crop(temp_dir("eval_colin_shards"),
                        "output:\n  image_size: 64\nsplit:\n  mode: slice\n  fractions: [0.5, 0.5, 0.0]\n  block: 2\n  gap: 0\n",
                        "  label_names_file: " + fixture("colin27_crop/labels.txt") + "\n");
  return dir;
}

}  // namespace medsam::test

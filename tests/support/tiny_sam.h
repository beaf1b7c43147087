// The tiny SAM the model, inference and training tests share: the sam_tiny fixture (random weights in the
// tiny preset, and the Python reference's prompts and outputs for two image cases, tests/fixtures/sam_tiny)
// and seeded random builds. Defined once here because the test files are compiled several to a unit
// (tests/CMakeLists.txt): a helper each file defined for itself would clash there.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "medsam/infer/predictor.h"
#include "medsam/model/build_sam.h"

namespace medsam::test {

// tests/fixtures/sam_tiny: weights.pth and the folders case_z70, case_z90.
std::string tiny_dir();

// build_sam("tiny") with the fixture's weights.pth loaded strictly, in eval mode.
Sam tiny_sam_from_fixture();

// build_sam("tiny") with random weights drawn after torch::manual_seed(seed).
Sam seeded_tiny_sam(std::uint64_t seed = 3);

// A CPU Predictor over the fixture's model, loaded as `medsam infer` loads a checkpoint.
infer::Predictor tiny_predictor();

// One image case of the fixture, with the prompts the Python reference used.
struct TinyCase {
  std::string dir;          // tiny_dir()/<name>
  at::Tensor box;           // (1, 1, 4) float, xyxy in the 256x256 input
  at::Tensor point_coords;  // (1, P, 2) float
  at::Tensor point_labels;  // (1, P) int64
  // An array of the case's folder as float32 (the reference's outputs: embedding.npy, ...).
  at::Tensor npy(const std::string& file) const;
};
TinyCase read_tiny_case(const std::string& name);

}  // namespace medsam::test

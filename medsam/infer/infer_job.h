// What `medsam infer` does, as a library call: read the input, prompt the model, write every output
// asked for. tools/infer.cpp only maps command-line flags onto InferJob.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "medsam/infer/intensity_options.h"
#include "medsam/infer/prompt_file.h"
#include "medsam/infer/volume_infer.h"

namespace medsam::infer {

struct InferJob {
  std::string checkpoint;
  std::string arch = "auto";
  std::string image;                    // 2D image, 2D NIfTI/DICOM, or (with box3d) a volume
  std::vector<LabeledBox> boxes;        // original pixels
  std::vector<std::array<double, 3>> points;  // x, y, label
  std::string mask_input;               // .npy low-res logits (1, 1, 4h, 4w) or (1, 4h, 4w)
  std::optional<Box3d> box3d;
  PropagationOptions propagation;
  IntensityOptions intensity;
  bool multimask = false;
  std::string device = "cpu";

  std::string output;          // label map (.png/.tif, or a volume format for volumes)
  std::string save_embedding;  // .npy
  std::string embedding;       // .npy: skip the encoder
  std::string save_logits;     // .npy (N, 1, 4h, 4w)
  std::string save_prob;       // .npy (N, H, W)
  std::string overlay;         // .png
};

// Runs the job; logs one line per output written. Throws UsageError for bad prompts/options and
// Error for unreadable inputs or failed writes (naming the file).
void run_infer_job(const InferJob& job);

}  // namespace medsam::infer

// What `medsam infer` does, as a library call: read the input, prompt the model, write every output
// asked for. tools/infer.cpp only maps command-line flags onto InferJob.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "medsam/data/normalize.h"
#include "medsam/infer/prompt_file.h"
#include "medsam/infer/volume_infer.h"

namespace medsam::infer {

struct InferJob {
  std::string checkpoint;
  std::string arch = "auto";
  std::string image;                    // 2D image, 2D NIfTI/DICOM, a volume (with box3d or slice_boxes),
                                        // or a MedSAM/CVPR .npz case (imgs + boxes)
  std::vector<LabeledBox> boxes;        // original pixels
  std::vector<std::array<double, 3>> points;  // x, y, label
  std::string mask_input;               // .npy low-res logits (1, 1, 4h, 4w) or (1, 4h, 4w)
  std::optional<Box3d> box3d;
  std::vector<SliceBox> slice_boxes;    // volumes: boxes on given slices (no propagation)
  PropagationOptions propagation;       // margin, encode_batch (slices per encoder call)
  data::IntensitySpec intensity;        // the same rule as `medsam prep` (medsam/data/normalize.h)
  bool multimask = false;
  std::string device = "cpu";
  std::string precision = "fp32";       // fp32 | bf16 (CUDA: whole model; CPU: image encoder)

  std::string output;          // label map (.png/.tif, a volume format for volumes, .npz `segs` for
                               // .npz cases and volumes)
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

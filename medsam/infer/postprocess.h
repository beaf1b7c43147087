// MedSAM's postprocessing (MedSAM_Inference.py): low-res logits -> probability at the original size -> mask.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

namespace medsam::infer {

// Where the sigmoid goes relative to the one bilinear resize (align_corners = false) to the original size.
enum class ProbabilityOrder {
  kSigmoidThenResize,  // MedSAM_Inference.py medsam_inference (SPEC.md): sigmoid at 256², then resize
  kResizeThenSigmoid,  // SAM's Sam.postprocess_masks order; what tests/fixtures/sam_tiny prob.npy holds
};

// Low-res logits (N, 1, h, w) -> probabilities (N, 1, height, width), resized straight to the original
// image size. The two orders differ by up to ~0.02 in probability and by a few boundary pixels of the
// thresholded mask.
at::Tensor logits_to_probabilities(const at::Tensor& low_res_logits, int64_t height, int64_t width,
                                   ProbabilityOrder order = ProbabilityOrder::kSigmoidThenResize);

// Probabilities -> uint8 masks, 1 where prob > threshold (MedSAM: 0.5), else 0. Same shape.
at::Tensor threshold_masks(const at::Tensor& probabilities, double threshold = 0.5);

}  // namespace medsam::infer

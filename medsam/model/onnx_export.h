// ONNX graphs of a loaded SAM/MedSAM model for deployment runtimes (ONNX Runtime, TensorRT, ...):
// the image encoder, and the prompt encoder + mask decoder + mask post-processing with the inputs and
// outputs of segment_anything's SamOnnxModel. See docs/checkpoints.md ("ONNX").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "medsam/io/onnx_model.h"
#include "medsam/model/sam.h"

namespace medsam {

struct OnnxExportOptions {
  std::string part = "decoder";        // decoder | encoder
  std::string masks = "single";        // decoder: single (one mask per prompt) | all (every mask token)
  std::string postprocess = "medsam";  // decoder: medsam | sam (see docs/checkpoints.md)
  bool external_data = false;          // weights in OUT.onnx.data even when one file would do (past 2 GiB: always)
};

// Throws UsageError naming the option when a value is not one of the listed ones.
void validate(const OnnxExportOptions& options);

// ref: segment_anything/modeling/image_encoder.py ImageEncoderViT.forward
// Input "image" (batch, 3, S, S) float, as Sam::encode takes it (MedSAM: min-max to [0, 1], no mean/std);
// output "image_embeddings" (batch, out_chans, S/16, S/16). The batch is a dynamic axis.
onnx::Model image_encoder_onnx(Sam& model);

// ref: segment_anything/utils/onnx.py SamOnnxModel (the prompt encoder, mask decoder and mask
// post-processing). Inputs as SamOnnxModel's: image_embeddings (1, C, h, w), point_coords
// (num_prompts, num_points, 2) in model-input pixels (boxes as two corner points labelled 2 and 3),
// point_labels (num_prompts, num_points), mask_input (1, 1, 4h, 4w), has_mask_input (1), orig_im_size (2)
// = (H, W) of the original image. Outputs: iou_predictions (num_prompts, M), low_res_masks
// (num_prompts, M, 4h, 4w) logits, and "probabilities" (postprocess medsam: MedSAM's sigmoid then bilinear
// resize to (H, W); threshold 0.5) or "masks" (postprocess sam: logits resized as SAM's, threshold 0).
// M = 1 (masks single: MedSAM's token 0; with sam post-processing SamOnnxModel's choice by point count and
// IoU) or 1 + num_multimask_outputs (all).
onnx::Model prompt_decoder_onnx(Sam& model, const OnnxExportOptions& options);

struct OnnxExportResult {
  size_t nodes = 0;
  size_t initializers = 0;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  bool external_data = false;  // the weights went to PATH.data
};

// Builds options.part's graph and writes it atomically to path.
OnnxExportResult export_onnx(Sam& model, const OnnxExportOptions& options, const std::string& path);

}  // namespace medsam

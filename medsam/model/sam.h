// The assembled SAM/MedSAM model. The encoder and the prompt+decoder half are separate calls so an
// image embedding can be computed once and reused for many prompts.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "medsam/core/config_model.h"
#include "medsam/model/image_encoder.h"
#include "medsam/model/mask_decoder.h"
#include "medsam/model/prompt_encoder.h"

namespace medsam {

struct MaskPrediction {
  at::Tensor low_res_logits;  // (Bp, 1 or 3, 4h, 4w), e.g. 256x256 for vit_b
  at::Tensor iou;             // (Bp, 1 or 3), the IoU head's estimate (no sigmoid)
};

// ref: segment_anything/modeling/sam.py Sam, MedSAM's MedSAM module (train_one_gpu.py)
// Unlike SAM, no pixel mean/std: MedSAM feeds images min-max scaled to [0, 1].
struct SamImpl : torch::nn::Module {
  explicit SamImpl(const ModelConfig& config);

  // images (B, 3, S, S) in [0, 1] -> embeddings (B, out_chans, S/patch, S/patch)
  at::Tensor encode(const at::Tensor& images);
  // embeddings (Bi, C, h, w) with prompts of batch Bp (Bi == Bp, or Bi == 1 for many prompts on one image).
  MaskPrediction decode(const at::Tensor& embeddings, const Prompts& prompts, bool multimask_output = false);
  // MedSAM's forward: images (B, 3, S, S) in [0, 1], boxes (B, 4) or (B, 1, 4) in input pixels (x0, y0, x1, y1)
  // -> low-res logits (B, 1, 4h, 4w), single-mask output.
  at::Tensor forward(const at::Tensor& images, const at::Tensor& boxes);

  ModelConfig config;
  ImageEncoderViT image_encoder{nullptr};
  PromptEncoder prompt_encoder{nullptr};
  MaskDecoder mask_decoder{nullptr};
};
TORCH_MODULE(Sam);

}  // namespace medsam

#include "medsam/model/sam.h"

#include <torch/torch.h>

namespace medsam {

// ref: segment_anything/modeling/sam.py Sam.__init__ (pixel_mean/std are not used by MedSAM and are
// not part of the state dict, so they are not registered)
SamImpl::SamImpl(const ModelConfig& c) : config(c) {
  image_encoder = register_module("image_encoder", ImageEncoderViT(c.image_encoder));
  prompt_encoder = register_module("prompt_encoder", PromptEncoder(c.prompt_encoder));
  mask_decoder = register_module("mask_decoder", MaskDecoder(c.mask_decoder));
}

at::Tensor SamImpl::encode(const at::Tensor& images) { return image_encoder(images); }

// ref: MedSAM MedSAM_Inference.py medsam_inference (prompt encoder + decoder half)
MaskPrediction SamImpl::decode(const at::Tensor& embeddings, const Prompts& prompts, bool multimask_output) {
  Prompts p = prompts;
  if (p.boxes.defined() && p.boxes.dim() == 2) p.boxes = p.boxes.unsqueeze(1);  // (B, 4) -> (B, 1, 4)
  auto [sparse, dense] = prompt_encoder(p);
  auto [logits, iou] = mask_decoder(embeddings, prompt_encoder->get_dense_pe(), sparse, dense, multimask_output);
  return {logits, iou};
}

// ref: MedSAM train_one_gpu.py MedSAM.forward
at::Tensor SamImpl::forward(const at::Tensor& images, const at::Tensor& boxes) {
  Prompts p;
  p.boxes = boxes;
  return decode(encode(images), p, /*multimask_output=*/false).low_res_logits;
}

}  // namespace medsam

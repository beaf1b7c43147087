// SAM's mask decoder: image embedding + prompt embeddings -> low-res mask logits and IoU estimates.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>

#include "medsam/core/config_model.h"
#include "medsam/model/common.h"
#include "medsam/model/two_way_transformer.h"

namespace medsam {

// ref: segment_anything/modeling/mask_decoder.py MaskDecoder
struct MaskDecoderImpl : torch::nn::Module {
  explicit MaskDecoderImpl(const MaskDecoderConfig& config);

  // image_embeddings (Bi, C, h, w); image_pe (1, C, h, w); sparse (Bp, Nt, C); dense (Bp, C, h, w).
  // Batching (MedSAM's rule): the image embedding is repeated per prompt only when Bi != Bp, which
  // needs Bi == 1 (one image, Bp prompts); Bi == Bp pairs image i with prompt i.
  // Returns masks (Bp, 1 or num_multimask_outputs, 4h, 4w) logits and iou_pred (Bp, 1 or 3).
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& image_embeddings, const at::Tensor& image_pe,
                                            const at::Tensor& sparse_prompt_embeddings,
                                            const at::Tensor& dense_prompt_embeddings, bool multimask_output);
  // All num_mask_tokens masks and IoUs: (Bp, num_mask_tokens, 4h, 4w), (Bp, num_mask_tokens).
  std::pair<at::Tensor, at::Tensor> predict_masks(const at::Tensor& image_embeddings, const at::Tensor& image_pe,
                                                  const at::Tensor& sparse_prompt_embeddings,
                                                  const at::Tensor& dense_prompt_embeddings);
  // Inference fast path (CPU fp32, autograd off; forward() takes it when fast_path_applies()): one prompt
  // at a time so the (N, C) intermediates stay cache-sized, image-side work shared between the prompts of
  // one image, folded attention (DecoderAttentionImpl::tokens_to_image), and the masks of mask tokens
  // [first_mask, last_mask) only. Returns masks (Bp, last_mask - first_mask, 4h, 4w) and all IoUs
  // (Bp, num_mask_tokens); equal to predict_masks() up to fp32 rounding.
  std::pair<at::Tensor, at::Tensor> predict_masks_fast(const at::Tensor& image_embeddings, const at::Tensor& image_pe,
                                                       const at::Tensor& sparse_prompt_embeddings,
                                                       const at::Tensor& dense_prompt_embeddings, int64_t first_mask,
                                                       int64_t last_mask);
  bool fast_path_applies(const at::Tensor& image_embeddings, const at::Tensor& sparse_prompt_embeddings) const;
  // keys (h*w, C) -> output_upscaling -> masks of the hypernetwork outputs hyper (T, C/8): (T, 4h, 4w).
  at::Tensor upscale_to_masks(const at::Tensor& keys, const at::Tensor& hyper, int64_t h, int64_t w);

  // false: forward() always runs predict_masks() (SAM's formulation), e.g. to compare the two paths.
  bool use_fast_path = true;
  MaskDecoderConfig config;
  int64_t num_mask_tokens;
  TwoWayTransformer transformer{nullptr};
  torch::nn::Embedding iou_token{nullptr};
  torch::nn::Embedding mask_tokens{nullptr};
  torch::nn::Sequential output_upscaling;  // 0 ConvT, 1 LayerNorm2d, 2 GELU, 3 ConvT, 4 GELU
  torch::nn::ModuleList output_hypernetworks_mlps;
  MLP iou_prediction_head{nullptr};
};
TORCH_MODULE(MaskDecoder);

}  // namespace medsam

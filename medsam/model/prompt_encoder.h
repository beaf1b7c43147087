// SAM's prompt encoder: points, boxes and masks -> sparse (tokens) and dense (grid) embeddings.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>

#include "medsam/core/config_model.h"

namespace medsam {

// ref: segment_anything/modeling/prompt_encoder.py PositionEmbeddingRandom
// Random Fourier features; the (2, num_pos_feats) gaussian matrix is a buffer loaded from the checkpoint.
struct PositionEmbeddingRandomImpl : torch::nn::Module {
  explicit PositionEmbeddingRandomImpl(int64_t num_pos_feats, double scale = 1.0);
  // Dense PE of an (h, w) grid at pixel centres: (2*num_pos_feats, h, w).
  at::Tensor forward(int64_t h, int64_t w);
  // coords: (B, N, 2) pixels (x, y) of an image of (height, width) -> (B, N, 2*num_pos_feats).
  at::Tensor forward_with_coords(const at::Tensor& coords, int64_t height, int64_t width);
  // coords in [0, 1] (..., 2) -> (..., 2*num_pos_feats): 2c-1, @G, *2pi, [sin, cos].
  at::Tensor pe_encoding(const at::Tensor& coords);

  at::Tensor positional_encoding_gaussian_matrix;
};
TORCH_MODULE(PositionEmbeddingRandom);

// The prompts of one decoder call; an undefined tensor means "absent".
struct Prompts {
  at::Tensor point_coords;  // (B, N, 2) in input-image pixels (x, y)
  at::Tensor point_labels;  // (B, N): 1 foreground, 0 background, -1 ignored
  at::Tensor boxes;         // (B, 4) or (B, 1, 4) x0, y0, x1, y1 in input-image pixels
  at::Tensor mask_inputs;   // (B, 1, 4*h, 4*w) low-res logits of a previous prediction
};

// ref: segment_anything/modeling/prompt_encoder.py PromptEncoder
struct PromptEncoderImpl : torch::nn::Module {
  explicit PromptEncoderImpl(const PromptEncoderConfig& config);
  // Returns sparse (B, n_tokens, embed_dim) and dense (B, embed_dim, h, w) embeddings.
  std::pair<at::Tensor, at::Tensor> forward(const Prompts& prompts);
  // (1, embed_dim, h, w) positional encoding of the image embedding grid.
  at::Tensor get_dense_pe();

  PromptEncoderConfig config;
  PositionEmbeddingRandom pe_layer{nullptr};
  torch::nn::ModuleList point_embeddings;  // 0 negative, 1 positive, 2 box top-left, 3 box bottom-right
  torch::nn::Embedding not_a_point_embed{nullptr};
  torch::nn::Sequential mask_downscaling;
  torch::nn::Embedding no_mask_embed{nullptr};

 private:
  at::Tensor embed_points(const at::Tensor& points, const at::Tensor& labels, bool pad);
  at::Tensor embed_boxes(const at::Tensor& boxes);
  at::Tensor point_embedding_weight(size_t i);
};
TORCH_MODULE(PromptEncoder);

}  // namespace medsam

// SAM's two-way transformer: prompt tokens and image tokens attend to each other.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>

#include "medsam/model/common.h"

namespace medsam {

// ref: segment_anything/modeling/transformer.py Attention
// Multi-head attention whose projections may downsample the embedding (internal_dim = dim / rate).
// q: (B, Nq, dim), k, v: (B, Nk, dim) -> (B, Nq, dim).
struct DecoderAttentionImpl : torch::nn::Module {
  DecoderAttentionImpl(int64_t embedding_dim, int64_t num_heads, int64_t downsample_rate = 1);
  at::Tensor forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

  int64_t num_heads;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
};
TORCH_MODULE(DecoderAttention);

// ref: segment_anything/modeling/transformer.py TwoWayAttentionBlock
struct TwoWayAttentionBlockImpl : torch::nn::Module {
  TwoWayAttentionBlockImpl(int64_t embedding_dim, int64_t num_heads, int64_t mlp_dim, int64_t downsample_rate,
                           bool skip_first_layer_pe);
  // queries (B, Nt, C), keys (B, hw, C) -> updated (queries, keys)
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& queries, const at::Tensor& keys,
                                            const at::Tensor& query_pe, const at::Tensor& key_pe);

  DecoderAttention self_attn{nullptr};
  torch::nn::LayerNorm norm1{nullptr};
  DecoderAttention cross_attn_token_to_image{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  MLPBlock mlp{nullptr};
  torch::nn::LayerNorm norm3{nullptr};
  torch::nn::LayerNorm norm4{nullptr};
  DecoderAttention cross_attn_image_to_token{nullptr};
  bool skip_first_layer_pe;
};
TORCH_MODULE(TwoWayAttentionBlock);

// ref: segment_anything/modeling/transformer.py TwoWayTransformer
struct TwoWayTransformerImpl : torch::nn::Module {
  TwoWayTransformerImpl(int64_t depth, int64_t embedding_dim, int64_t num_heads, int64_t mlp_dim,
                        int64_t attention_downsample_rate = 2);
  // image_embedding (B, C, h, w), image_pe (B or 1, C, h, w), point_embedding (B, Nt, C)
  // -> (queries (B, Nt, C), keys (B, h*w, C))
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& image_embedding, const at::Tensor& image_pe,
                                            const at::Tensor& point_embedding);

  torch::nn::ModuleList layers;
  DecoderAttention final_attn_token_to_image{nullptr};
  torch::nn::LayerNorm norm_final_attn{nullptr};
};
TORCH_MODULE(TwoWayTransformer);

}  // namespace medsam

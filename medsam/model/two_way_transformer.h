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

  // Inference fast paths for one prompt (2-D operands, no autograd): the same attention as forward() with
  // the image side's per-head projections folded into the few prompt tokens, so the 4096 image tokens
  // meet GEMMs of H*T (= 8*7) columns instead of being projected to internal_dim and back. Equal to
  // forward() up to fp32 rounding.
  // tokens (T, C) attend to the image: keys image_keys (N, C), values image_values (N, C) -> (T, C).
  at::Tensor tokens_to_image(const at::Tensor& tokens, const at::Tensor& image_keys, const at::Tensor& image_values);
  // The image (N, C) attends to tokens: keys token_keys (T, C), values token_values (T, C); returns
  // residual (N, C) + the attention output.
  at::Tensor image_to_tokens_plus(const at::Tensor& image_queries, const at::Tensor& token_keys,
                                  const at::Tensor& token_values, const at::Tensor& residual);

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
  // Inference fast path of one prompt: queries (T, C), keys (N, C), query_pe (T, C) and keys_plus_pe
  // (N, C) = keys + key_pe (given, so layer 0 can share it between the prompts of one image).
  std::pair<at::Tensor, at::Tensor> forward_fast(const at::Tensor& queries, const at::Tensor& keys,
                                                 const at::Tensor& query_pe, const at::Tensor& keys_plus_pe);

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
  // Inference fast path of one prompt, token-major: image_tokens (N, C) (image embedding + dense prompt),
  // image_tokens_plus_pe (N, C) (the same + pe_tokens), pe_tokens (N, C), point_embedding (T, C)
  // -> (queries (len(out_tokens), C): the rows out_tokens (int64 indices) of the queries, keys (N, C)).
  // Tokens attend to the image independently in the last attention, so only the output rows asked for
  // are computed there.
  std::pair<at::Tensor, at::Tensor> forward_fast(const at::Tensor& image_tokens, const at::Tensor& image_tokens_plus_pe,
                                                 const at::Tensor& pe_tokens, const at::Tensor& point_embedding,
                                                 const at::Tensor& out_tokens);

  torch::nn::ModuleList layers;
  DecoderAttention final_attn_token_to_image{nullptr};
  torch::nn::LayerNorm norm_final_attn{nullptr};
};
TORCH_MODULE(TwoWayTransformer);

}  // namespace medsam

#include "medsam/model/two_way_transformer.h"

#include <torch/torch.h>

#include <cmath>

namespace medsam {

// ref: segment_anything/modeling/transformer.py Attention.__init__
DecoderAttentionImpl::DecoderAttentionImpl(int64_t embedding_dim, int64_t heads, int64_t downsample_rate)
    : num_heads(heads) {
  const int64_t internal = embedding_dim / downsample_rate;
  TORCH_CHECK(internal % heads == 0, "num_heads must divide embedding_dim / downsample_rate");
  q_proj = register_module("q_proj", torch::nn::Linear(embedding_dim, internal));
  k_proj = register_module("k_proj", torch::nn::Linear(embedding_dim, internal));
  v_proj = register_module("v_proj", torch::nn::Linear(embedding_dim, internal));
  out_proj = register_module("out_proj", torch::nn::Linear(internal, embedding_dim));
}

// ref: segment_anything/modeling/transformer.py Attention.forward
at::Tensor DecoderAttentionImpl::forward(const at::Tensor& q_in, const at::Tensor& k_in, const at::Tensor& v_in) {
  // (B, N, C) -> (B, heads, N, C/heads)
  const auto separate = [&](const at::Tensor& x) {
    return x.reshape({x.size(0), x.size(1), num_heads, x.size(2) / num_heads}).transpose(1, 2);
  };
  const at::Tensor q = separate(q_proj(q_in));
  const at::Tensor k = separate(k_proj(k_in));
  const at::Tensor v = separate(v_proj(v_in));
  const int64_t c_per_head = q.size(3);
  at::Tensor attn = at::matmul(q, k.transpose(-2, -1));  // (B, heads, Nq, Nk)
  attn = attn / std::sqrt(static_cast<double>(c_per_head));
  attn = attn.softmax(-1);
  at::Tensor out = at::matmul(attn, v);                                            // (B, heads, Nq, c)
  out = out.transpose(1, 2).reshape({out.size(0), out.size(2), -1});               // (B, Nq, internal)
  return out_proj(out);
}

// ref: segment_anything/modeling/transformer.py TwoWayAttentionBlock.__init__
TwoWayAttentionBlockImpl::TwoWayAttentionBlockImpl(int64_t dim, int64_t heads, int64_t mlp_dim,
                                                   int64_t downsample_rate, bool skip_pe)
    : skip_first_layer_pe(skip_pe) {
  using torch::nn::LayerNorm;
  using torch::nn::LayerNormOptions;
  self_attn = register_module("self_attn", DecoderAttention(dim, heads));
  norm1 = register_module("norm1", LayerNorm(LayerNormOptions({dim})));
  cross_attn_token_to_image =
      register_module("cross_attn_token_to_image", DecoderAttention(dim, heads, downsample_rate));
  norm2 = register_module("norm2", LayerNorm(LayerNormOptions({dim})));
  mlp = register_module("mlp", MLPBlock(dim, mlp_dim, Activation::kReLU));
  norm3 = register_module("norm3", LayerNorm(LayerNormOptions({dim})));
  norm4 = register_module("norm4", LayerNorm(LayerNormOptions({dim})));
  cross_attn_image_to_token =
      register_module("cross_attn_image_to_token", DecoderAttention(dim, heads, downsample_rate));
}

// ref: segment_anything/modeling/transformer.py TwoWayAttentionBlock.forward
std::pair<at::Tensor, at::Tensor> TwoWayAttentionBlockImpl::forward(const at::Tensor& queries_in,
                                                                    const at::Tensor& keys_in,
                                                                    const at::Tensor& query_pe,
                                                                    const at::Tensor& key_pe) {
  at::Tensor queries;
  if (skip_first_layer_pe) {  // layer 0: no PE and no residual
    queries = self_attn(queries_in, queries_in, queries_in);
  } else {
    const at::Tensor q = queries_in + query_pe;
    queries = queries_in + self_attn(q, q, queries_in);
  }
  queries = norm1(queries);

  // tokens attend to the image
  at::Tensor q = queries + query_pe;
  at::Tensor k = keys_in + key_pe;
  queries = norm2(queries + cross_attn_token_to_image(q, k, keys_in));

  queries = norm3(queries + mlp(queries));

  // the image attends to the tokens
  q = queries + query_pe;
  at::Tensor keys = norm4(keys_in + cross_attn_image_to_token(k, q, queries));
  return {queries, keys};
}

// ref: segment_anything/modeling/transformer.py TwoWayTransformer.__init__
TwoWayTransformerImpl::TwoWayTransformerImpl(int64_t depth, int64_t dim, int64_t heads, int64_t mlp_dim,
                                             int64_t downsample_rate) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < depth; ++i)
    layers->push_back(TwoWayAttentionBlock(dim, heads, mlp_dim, downsample_rate, /*skip_first_layer_pe=*/i == 0));
  final_attn_token_to_image = register_module("final_attn_token_to_image", DecoderAttention(dim, heads, downsample_rate));
  norm_final_attn = register_module("norm_final_attn", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
}

// ref: segment_anything/modeling/transformer.py TwoWayTransformer.forward
std::pair<at::Tensor, at::Tensor> TwoWayTransformerImpl::forward(const at::Tensor& image_embedding,
                                                                 const at::Tensor& image_pe,
                                                                 const at::Tensor& point_embedding) {
  // (B, C, h, w) -> (B, h*w, C)
  // Made contiguous once: as permuted views every add, LayerNorm and projection below would copy or
  // stride through them again (measured: a third of the decoder's time on CPU).
  const at::Tensor image_tokens = image_embedding.flatten(2).permute({0, 2, 1}).contiguous();
  const at::Tensor pe_tokens = image_pe.flatten(2).permute({0, 2, 1}).contiguous();
  at::Tensor queries = point_embedding;
  at::Tensor keys = image_tokens;
  for (auto& layer : *layers) {
    std::tie(queries, keys) = layer->as<TwoWayAttentionBlock>()->forward(queries, keys, point_embedding, pe_tokens);
  }
  const at::Tensor q = queries + point_embedding;
  const at::Tensor k = keys + pe_tokens;
  queries = norm_final_attn(queries + final_attn_token_to_image(q, k, keys));
  return {queries, keys};
}

}  // namespace medsam

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

namespace {
// In-place softmax over dim 1 of (H, T, N): the image-to-token attention's T = 7 keys of each (head,
// query). Reducing over a middle dim keeps the N queries contiguous (vectorised); the same softmax over
// rows of 7 (at::softmax(-1) of (N, H, T)) runs ~4x slower (measured).
void softmax_over_keys_(at::Tensor& x) {
  x.sub_(x.amax(1, /*keepdim=*/true));
  x.exp_();
  x.div_(x.sum(1, /*keepdim=*/true));
}

// x (T, H*d) -> (H*T, H*d), block-diagonal by head: row h*T + t holds head h's slice of x[t] and zeros
// elsewhere, so one small GEMM with a (H*d, C) weight applies each head's slice of it to that head's rows.
at::Tensor head_block_diagonal(const at::Tensor& x, int64_t H) {
  const int64_t T = x.size(0), I = x.size(1);
  const at::Tensor mask = at::eye(H, x.options()).view({H, 1, H, 1});
  return (x.view({1, T, H, I / H}) * mask).view({H * T, I});
}

// A 2-D (N, C) operand through a module that takes (B, N, C).
at::Tensor attend_2d(DecoderAttentionImpl& a, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  return a.forward(q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0)).squeeze(0);
}
}  // namespace

// ref: segment_anything/modeling/transformer.py Attention.forward, tokens as queries (token_to_image)
at::Tensor DecoderAttentionImpl::tokens_to_image(const at::Tensor& tokens, const at::Tensor& image_keys,
                                                 const at::Tensor& image_values) {
  const int64_t T = tokens.size(0), H = num_heads, I = q_proj->weight.size(0), d = I / H;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  // logits[h,t,n] = q[h,t] . (Wk_h x[n] + bk_h) = (Wk_h^T q[h,t]) . x[n] + (a constant over n, which the
  // softmax over n cancels): one (H*T, C) x (C, N) GEMM instead of projecting every image token.
  const at::Tensor mk = at::mm(head_block_diagonal(q_proj(tokens) * scale, H), k_proj->weight);  // (H*T, C)
  const at::Tensor attn = at::mm(mk, image_keys.t()).softmax(-1);                                  // (H*T, N)
  // sum_n a[n] (Wv_h x[n] + bv_h) = Wv_h (sum_n a[n] x[n]) + bv_h, the weights summing to 1. z is computed
  // transposed, X^T A^T: OpenBLAS runs A X with A (56, 4096) ~20x slower (measured).
  const at::Tensor z_t = at::mm(image_values.t(), attn.t());  // (C, H*T)
  // every head's Wv applied to every row of z (8x the FLOPs of a tiny GEMM), then each row's own head
  const at::Tensor all_heads = at::mm(z_t.t(), v_proj->weight.t()).view({H, T, H, d});
  const at::Tensor out = all_heads.diagonal(0, 0, 2).permute({0, 2, 1}).reshape({T, I}) + v_proj->bias;
  return out_proj(out);
}

// ref: segment_anything/modeling/transformer.py Attention.forward, the image as queries (image_to_token)
at::Tensor DecoderAttentionImpl::image_to_tokens_plus(const at::Tensor& image_queries, const at::Tensor& token_keys,
                                                      const at::Tensor& token_values, const at::Tensor& residual) {
  const int64_t N = image_queries.size(0), T = token_keys.size(0), H = num_heads;
  const int64_t d = q_proj->weight.size(0) / H;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  // logits[n,h,t] = (Wq_h x[n] + bq_h) . k[h,t] = x[n] . (Wq_h^T k[h,t]) + bq_h . k[h,t]
  const at::Tensor k = head_block_diagonal(k_proj(token_keys) * scale, H);  // (H*T, I)
  const at::Tensor m = at::mm(k, q_proj->weight);                           // (H*T, C)
  const at::Tensor c = at::mv(k, q_proj->bias);                             // (H*T)
  at::Tensor attn_t = at::addmm(c.unsqueeze(1), m, image_queries.t()).view({H, T, N});  // logits, transposed
  softmax_over_keys_(attn_t);
  // out_proj(concat_h sum_t a[n,h,t] v[h,t]) = sum_{h,t} a[n,h,t] (Wo_h v[h,t]) + bo; each head's weights
  // sum to 1, so bo/H added to each of the H*T rows of u gives bo.
  const at::Tensor v = head_block_diagonal(v_proj(token_values), H);                         // (H*T, I)
  const at::Tensor u = at::addmm(out_proj->bias / static_cast<double>(H), v, out_proj->weight.t());  // (H*T, C)
  return at::addmm(residual, attn_t.view({H * T, N}).t(), u);
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

// ref: segment_anything/modeling/transformer.py TwoWayAttentionBlock.forward (one prompt, inference)
std::pair<at::Tensor, at::Tensor> TwoWayAttentionBlockImpl::forward_fast(const at::Tensor& queries_in,
                                                                         const at::Tensor& keys,
                                                                         const at::Tensor& query_pe,
                                                                         const at::Tensor& keys_plus_pe) {
  at::Tensor queries;
  if (skip_first_layer_pe) {
    queries = attend_2d(*self_attn, queries_in, queries_in, queries_in);
  } else {
    const at::Tensor q = queries_in + query_pe;
    queries = queries_in + attend_2d(*self_attn, q, q, queries_in);
  }
  queries = norm1(queries);
  queries = norm2(queries + cross_attn_token_to_image->tokens_to_image(queries + query_pe, keys_plus_pe, keys));
  queries = norm3(queries + mlp(queries));
  const at::Tensor keys_out =
      norm4(cross_attn_image_to_token->image_to_tokens_plus(keys_plus_pe, queries + query_pe, queries, keys));
  return {queries, keys_out};
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

// ref: segment_anything/modeling/transformer.py TwoWayTransformer.forward (one prompt, inference)
std::pair<at::Tensor, at::Tensor> TwoWayTransformerImpl::forward_fast(const at::Tensor& image_tokens,
                                                                      const at::Tensor& image_tokens_plus_pe,
                                                                      const at::Tensor& pe_tokens,
                                                                      const at::Tensor& point_embedding,
                                                                      const at::Tensor& out_tokens) {
  at::Tensor queries = point_embedding;
  at::Tensor keys = image_tokens;
  at::Tensor keys_plus_pe = image_tokens_plus_pe;
  for (size_t i = 0; i < layers->size(); ++i) {
    if (i > 0) keys_plus_pe = keys + pe_tokens;
    std::tie(queries, keys) =
        layers[i]->as<TwoWayAttentionBlock>()->forward_fast(queries, keys, point_embedding, keys_plus_pe);
  }
  keys_plus_pe = keys + pe_tokens;
  queries = queries.index_select(0, out_tokens);
  const at::Tensor q = queries + point_embedding.index_select(0, out_tokens);
  queries = norm_final_attn(queries + final_attn_token_to_image->tokens_to_image(q, keys_plus_pe, keys));
  return {queries, keys};
}

}  // namespace medsam

#include "medsam/model/image_encoder.h"

#include <torch/torch.h>

#include <algorithm>

#include "medsam/core/torch_compat.h"

namespace medsam {

// ref: segment_anything/modeling/image_encoder.py window_partition
std::pair<at::Tensor, std::pair<int64_t, int64_t>> window_partition(const at::Tensor& x, int64_t ws) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  const int64_t pad_h = (ws - H % ws) % ws, pad_w = (ws - W % ws) % ws;
  at::Tensor xp = x;
  if (pad_h > 0 || pad_w > 0) xp = at::constant_pad_nd(x, {0, 0, 0, pad_w, 0, pad_h}, 0.0);
  const int64_t Hp = H + pad_h, Wp = W + pad_w;
  // (B, Hp/ws, ws, Wp/ws, ws, C) -> (B, Hp/ws, Wp/ws, ws, ws, C) -> (B*nW, ws, ws, C)
  at::Tensor windows =
      xp.view({B, Hp / ws, ws, Wp / ws, ws, C}).permute({0, 1, 3, 2, 4, 5}).contiguous().view({-1, ws, ws, C});
  return {windows, {Hp, Wp}};
}

// ref: segment_anything/modeling/image_encoder.py window_unpartition
at::Tensor window_unpartition(const at::Tensor& windows, int64_t ws, std::pair<int64_t, int64_t> pad_hw,
                              std::pair<int64_t, int64_t> hw) {
  const auto [Hp, Wp] = pad_hw;
  const auto [H, W] = hw;
  const int64_t B = windows.size(0) / (Hp * Wp / ws / ws);
  // (B*nW, ws, ws, C) -> (B, Hp/ws, Wp/ws, ws, ws, C) -> (B, Hp, Wp, C)
  at::Tensor x = windows.view({B, Hp / ws, Wp / ws, ws, ws, -1}).permute({0, 1, 3, 2, 4, 5}).contiguous().view(
      {B, Hp, Wp, -1});
  if (Hp > H || Wp > W) x = x.slice(1, 0, H).slice(2, 0, W).contiguous();
  return x;
}

// ref: segment_anything/modeling/image_encoder.py PatchEmbed.__init__
PatchEmbedImpl::PatchEmbedImpl(int64_t patch_size, int64_t in_chans, int64_t embed_dim)
    : proj(register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_chans, embed_dim, patch_size)
                                                          .stride(patch_size)))) {}

// ref: segment_anything/modeling/image_encoder.py PatchEmbed.forward
at::Tensor PatchEmbedImpl::forward(const at::Tensor& x) {
  // CUDA: cuDNN's choice for this bf16 conv (implicit_convolve_sgemm) ran at 19 TFLOP/s on an H200, 4.1 ms
  // of a 93 ms ViT-B batch of 16; the same products as one GEMM take a fraction of that.
  if (x.is_cuda()) return patch_embed_as_gemm(x, proj->weight, proj->bias);
  return proj(x).permute({0, 2, 3, 1});  // (B, C, H, W) -> (B, H, W, C)
}

// A convolution whose kernel equals its stride (no padding) sees each patch once: cut the image into
// patches, (B, C, Hp, p, Wp, p) -> (B, Hp, Wp, C, p, p), one row per patch in the weight's (C, p, p)
// order, and multiply by the (embed_dim, C*p*p) weight. Differentiable; channels last like forward().
at::Tensor patch_embed_as_gemm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const int64_t B = x.size(0), C = x.size(1), p = weight.size(-1), E = weight.size(0);
  const int64_t hp = x.size(2) / p, wp = x.size(3) / p;
  TORCH_CHECK(weight.dim() == 4 && weight.size(-2) == p && weight.size(1) == C, "patch_embed_as_gemm: weight ",
              weight.sizes(), " is not (embed_dim, ", C, ", p, p) for an image of ", C, " channels");
  // Rows and columns past the last whole patch are not seen, as by the stride-p conv.
  const at::Tensor whole = x.slice(2, 0, hp * p).slice(3, 0, wp * p);
  const at::Tensor patches = whole.reshape({B, C, hp, p, wp, p}).permute({0, 2, 4, 1, 3, 5}).reshape({B * hp * wp, C * p * p});
  return at::linear(patches, weight.reshape({E, C * p * p}), bias).view({B, hp, wp, E});
}

// ref: segment_anything/modeling/image_encoder.py Block.__init__
BlockImpl::BlockImpl(int64_t dim, int64_t num_heads, double mlp_ratio, bool qkv_bias, double norm_eps,
                     bool use_rel_pos, int64_t ws, std::pair<int64_t, int64_t> input_size)
    : window_size(ws) {
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(norm_eps)));
  attn = register_module("attn", EncoderAttention(dim, num_heads, qkv_bias, use_rel_pos,
                                                  ws == 0 ? input_size : std::make_pair(ws, ws)));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(norm_eps)));
  mlp = register_module("mlp", MLPBlock(dim, static_cast<int64_t>(dim * mlp_ratio), Activation::kGELU));
}

// ref: segment_anything/modeling/image_encoder.py Block.forward
at::Tensor BlockImpl::forward(const at::Tensor& x) {
  at::Tensor h = norm1(x);
  const int64_t H = x.size(1), W = x.size(2);
  if (window_size > 0) {
    // Under autocast the qkv projection reads h in the autocast dtype anyway (the same rounding): cast
    // first, and the partition's pad and permute copies move half the bytes.
    const auto device = h.device().type();
    if (h.scalar_type() == at::kFloat && compat::autocast_enabled(device)) h = h.to(compat::autocast_dtype(device));
    // padding happens after norm1: padded tokens are zeros (keys/values too, no mask)
    auto [windows, pad_hw] = window_partition(h, window_size);  // (B*nW, ws, ws, C)
    h = window_unpartition(attn(windows), window_size, pad_hw, {H, W});
  } else {
    h = attn(h);
  }
  at::Tensor y = x + h;
  return y + mlp(norm2(y));
}

// ref: segment_anything/modeling/image_encoder.py ImageEncoderViT.__init__
ImageEncoderViTImpl::ImageEncoderViTImpl(const ImageEncoderConfig& c) : config(c) {
  const int64_t grid = c.img_size / c.patch_size;
  patch_embed = register_module("patch_embed", PatchEmbed(c.patch_size, c.in_chans, c.embed_dim));
  pos_embed = register_parameter("pos_embed", torch::zeros({1, grid, grid, c.embed_dim}));  // use_abs_pos
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int i = 0; i < c.depth; ++i) {
    const bool global = std::find(c.global_attn_indexes.begin(), c.global_attn_indexes.end(), i) !=
                        c.global_attn_indexes.end();
    blocks->push_back(Block(c.embed_dim, c.num_heads, c.mlp_ratio, c.qkv_bias, c.layer_norm_eps, c.use_rel_pos,
                            global ? 0 : c.window_size, std::pair<int64_t, int64_t>{grid, grid}));
  }
  neck = register_module(
      "neck", torch::nn::Sequential(
                  torch::nn::Conv2d(torch::nn::Conv2dOptions(c.embed_dim, c.out_chans, 1).bias(false)),
                  LayerNorm2d(c.out_chans, 1e-6),
                  torch::nn::Conv2d(torch::nn::Conv2dOptions(c.out_chans, c.out_chans, 3).padding(1).bias(false)),
                  LayerNorm2d(c.out_chans, 1e-6)));
}

void ImageEncoderViTImpl::set_attention_path(AttentionPath path, int64_t chunk_elements) {
  for (auto& b : *blocks) {
    auto attn = b->as<Block>()->attn;
    attn->path = path;
    attn->chunk_elements = chunk_elements;
  }
}

// ref: segment_anything/modeling/image_encoder.py ImageEncoderViT.forward
at::Tensor ImageEncoderViTImpl::forward(const at::Tensor& x) {
  at::Tensor h = (patch_embed(x) + pos_embed).contiguous();  // (B, S/p, S/p, embed_dim)
  for (auto& b : *blocks) h = b->as<Block>()->forward(h);
  return neck->forward(h.permute({0, 3, 1, 2})).contiguous();  // (B, H, W, C) -> (B, out_chans, H, W)
}

}  // namespace medsam

#include "medsam/model/image_encoder.h"

#include <torch/torch.h>

#include <algorithm>
#include <vector>

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

namespace {

// One dimension of the window grid in at most two runs of windows: the whole windows, then the last,
// partial one (the rows that padding completes).
struct WindowRun {
  int64_t first_window, windows, rows;  // windows of `rows` real rows each, from window `first_window`
};
std::vector<WindowRun> window_runs(int64_t size, int64_t ws) {
  std::vector<WindowRun> runs;
  if (size / ws > 0) runs.push_back({0, size / ws, ws});
  if (size % ws > 0) runs.push_back({size / ws, 1, size % ws});
  return runs;
}

// The block of whole or partial windows (ry, rx) as (B, windows_y, rows_y, windows_x, rows_x, C) views: of a
// (B, H, W, C) grid tensor, and of the (B, nWh, nWw, ws, ws, C) windows.
at::Tensor grid_block(const at::Tensor& grid, const WindowRun& ry, const WindowRun& rx, int64_t ws) {
  return grid.narrow(1, ry.first_window * ws, ry.windows * ry.rows)
      .narrow(2, rx.first_window * ws, rx.windows * rx.rows)
      .view({grid.size(0), ry.windows, ry.rows, rx.windows, rx.rows, grid.size(3)});
}
at::Tensor window_block(const at::Tensor& windows6, const WindowRun& ry, const WindowRun& rx) {
  return windows6.narrow(1, ry.first_window, ry.windows)
      .narrow(2, rx.first_window, rx.windows)
      .narrow(3, 0, ry.rows)
      .narrow(4, 0, rx.rows)
      .permute({0, 1, 3, 2, 4, 5});
}

}  // namespace

// ref: segment_anything/modeling/image_encoder.py window_partition
std::pair<at::Tensor, std::pair<int64_t, int64_t>> window_partition_one_pass(const at::Tensor& x, int64_t ws) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  const int64_t nh = (H + ws - 1) / ws, nw = (W + ws - 1) / ws;
  const at::Tensor windows6 = at::empty({B, nh, nw, ws, ws, C}, x.options());
  for (const auto& ry : window_runs(H, ws))
    for (const auto& rx : window_runs(W, ws)) window_block(windows6, ry, rx).copy_(grid_block(x, ry, rx, ws));
  // The padding: the last window row's rows past H, the last window column's columns past W.
  if (H % ws > 0) windows6.narrow(1, nh - 1, 1).narrow(3, H % ws, ws - H % ws).zero_();
  if (W % ws > 0) windows6.narrow(2, nw - 1, 1).narrow(4, W % ws, ws - W % ws).zero_();
  return {windows6.view({B * nh * nw, ws, ws, C}), {nh * ws, nw * ws}};
}

// ref: segment_anything/modeling/image_encoder.py Block.forward (x + window_unpartition(...))
at::Tensor add_window_unpartition(const at::Tensor& x, const at::Tensor& windows, int64_t ws) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  const int64_t nh = (H + ws - 1) / ws, nw = (W + ws - 1) / ws;
  TORCH_CHECK(x.dim() == 4 && windows.dim() == 4 && windows.size(0) == B * nh * nw && windows.size(1) == ws &&
                  windows.size(2) == ws && windows.size(3) == C,
              "add_window_unpartition: windows ", windows.sizes(), " do not cover x ", x.sizes(), " in windows of ", ws);
  const at::Tensor windows6 = windows.reshape({B, nh, nw, ws, ws, C});
  const at::Tensor sum = at::empty(x.sizes(), x.options().dtype(at::result_type(x, windows)));
  for (const auto& ry : window_runs(H, ws)) {
    for (const auto& rx : window_runs(W, ws)) {
      at::Tensor out = grid_block(sum, ry, rx, ws);
      at::add_out(out, grid_block(x, ry, rx, ws), window_block(windows6, ry, rx));
    }
  }
  return sum;
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
  // A bf16/fp16 x is the reduced residual stream (ResidualStream::kReduced): the LayerNorms stay in its
  // dtype, and on CUDA lin1 + GELU are one GEMM. An fp32 x is SAM's stream, what torch.autocast keeps.
  const bool reduced = x.scalar_type() == at::kBFloat16 || x.scalar_type() == at::kHalf;
  const auto norm = [&](torch::nn::LayerNorm& ln, const at::Tensor& t) {
    return reduced ? layer_norm_in_dtype(ln, t) : ln(t);
  };
  at::Tensor h = norm(norm1, x);
  at::Tensor y;  // x + the attention's output
  if (window_size > 0) {
    // Under autocast the qkv projection reads h in the autocast dtype anyway (the same rounding): cast
    // first, and the partition's pad and permute copies move half the bytes.
    const auto device = h.device().type();
    if (h.scalar_type() == at::kFloat && compat::autocast_enabled(device)) h = h.to(compat::autocast_dtype(device));
    // padding happens after norm1: padded tokens are zeros (keys/values too, no mask)
    if (!at::GradMode::is_enabled()) {
      // One pass each way: the partition copies x's window blocks straight into place, and the residual
      // add reads the attention's windows where they lie (SAM: pad, permute; permute, crop, add).
      const at::Tensor windows = window_partition_one_pass(h, window_size).first;
      y = add_window_unpartition(x, attn(windows), window_size);
    } else {
      auto [windows, pad_hw] = window_partition(h, window_size);  // (B*nW, ws, ws, C)
      y = x + window_unpartition(attn(windows), window_size, pad_hw, {x.size(1), x.size(2)});
    }
  } else {
    y = x + attn(h);
  }
  return y + mlp->forward(norm(norm2, y), /*fuse_gelu=*/reduced && x.is_cuda());
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

bool ImageEncoderViTImpl::runs_reduced_stream(c10::DeviceType device) const {
  return inference_stream == ResidualStream::kReduced && !at::GradMode::is_enabled() &&
         compat::autocast_enabled(device);
}

// ref: segment_anything/modeling/image_encoder.py ImageEncoderViT.forward
at::Tensor ImageEncoderViTImpl::forward(const at::Tensor& x) {
  at::Tensor h = patch_embed(x) + pos_embed;  // (B, S/p, S/p, embed_dim)
  const auto device = x.device().type();
  h = runs_reduced_stream(device) ? h.to(compat::autocast_dtype(device)).contiguous() : h.contiguous();
  for (auto& b : *blocks) h = b->as<Block>()->forward(h);
  return neck->forward(h.permute({0, 3, 1, 2})).contiguous();  // (B, H, W, C) -> (B, out_chans, H, W)
}

}  // namespace medsam

// The image encoder as an ONNX graph: SAM's formulation node by node (windows padded after norm1,
// decomposed rel-pos terms from the unscaled q), with the rel-pos gathers done at export time.
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "medsam/core/version.h"
#include "medsam/model/attention.h"
#include "medsam/model/onnx_export.h"
#include "medsam/model/onnx_graph.h"

namespace medsam {
namespace {

using onnx::Attribute;
using onnx_export::GraphBuilder;

// ref: segment_anything/modeling/image_encoder.py Attention.forward + add_decomposed_rel_pos
// x: (B', H, W, C) -> (B', H, W, C).
std::string encoder_attention(GraphBuilder& g, const std::string& x, const std::string& prefix, int64_t h, int64_t w,
                              int64_t dim, int64_t heads, bool qkv_bias, bool rel_pos) {
  const int64_t hd = dim / heads, n = h * w;
  // qkv: (B', H, W, 3C) -> (B', HW, 3, nh, hd) -> (3, B', nh, HW, hd) -> (3, B'*nh, HW, hd)
  std::string qkv = g.linear(x, prefix + ".qkv", qkv_bias);
  qkv = g.reshape(g.transpose(g.reshape(qkv, {-1, n, 3, heads, hd}), {2, 0, 3, 1, 4}), {3, -1, n, hd});
  const std::string q = g.op("Gather", {qkv, g.int_scalar(0)}, {Attribute::of("axis", int64_t{0})});
  const std::string k = g.op("Gather", {qkv, g.int_scalar(1)}, {Attribute::of("axis", int64_t{0})});
  const std::string v = g.op("Gather", {qkv, g.int_scalar(2)}, {Attribute::of("axis", int64_t{0})});
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  std::string attn = g.op("MatMul", {g.op("Mul", {q, g.scalar(scale)}), g.transpose(k, {0, 2, 1})});  // (B'nh, N, N)
  if (rel_pos) {
    // rel_h[b,y,x,ky] = sum_c q[b,y,x,c] Rh[y,ky,c]: q (b,H,W,c) @ Rh^T (H,c,kH), broadcast over b
    const at::Tensor rh = get_rel_pos(h, h, g.tensor(prefix + ".rel_pos_h").to(at::kFloat));  // (H, kH, hd)
    const at::Tensor rw = get_rel_pos(w, w, g.tensor(prefix + ".rel_pos_w").to(at::kFloat));  // (W, kW, hd)
    const std::string r_q = g.reshape(q, {-1, h, w, hd});
    const std::string rel_h = g.op("MatMul", {r_q, g.constant(rh.transpose(1, 2), prefix + ".rel_pos_h.table")});
    const std::string rel_w = g.transpose(
        g.op("MatMul", {g.transpose(r_q, {0, 2, 1, 3}), g.constant(rw.transpose(1, 2), prefix + ".rel_pos_w.table")}),
        {0, 2, 1, 3});  // (b, W, H, kW) -> (b, H, W, kW)
    attn = g.reshape(attn, {-1, h, w, h, w});
    attn = g.op("Add", {attn, g.op("Unsqueeze", {rel_h, g.ints({4})})});  // + rel_h[:, :, :, :, None]
    attn = g.op("Add", {attn, g.op("Unsqueeze", {rel_w, g.ints({3})})});  // + rel_w[:, :, :, None, :]
    attn = g.reshape(attn, {-1, n, n});
  }
  attn = g.op("Softmax", {attn}, {Attribute::of("axis", int64_t{-1})});
  // (B'nh, N, hd) -> (B', nh, H, W, hd) -> (B', H, W, nh, hd) -> (B', H, W, C)
  std::string out = g.op("MatMul", {attn, v});
  out = g.reshape(g.transpose(g.reshape(out, {-1, heads, h, w, hd}), {0, 2, 3, 1, 4}), {-1, h, w, dim});
  return g.linear(out, prefix + ".proj");
}

// ref: segment_anything/modeling/image_encoder.py Block.forward (+ window_partition / window_unpartition)
std::string encoder_block(GraphBuilder& g, const std::string& x, const std::string& prefix,
                          const ImageEncoderConfig& c, int64_t grid, int64_t window) {
  const float eps = static_cast<float>(c.layer_norm_eps);
  std::string h = g.layer_norm(x, prefix + ".norm1", eps);
  if (window > 0) {
    const int64_t pad = (window - grid % window) % window, padded = grid + pad, nw = padded / window;
    // zero padding bottom/right after norm1; ONNX pads = [x1_begin.., x1_end..] over (B, H, W, C)
    if (pad > 0) h = g.op("Pad", {h, g.ints({0, 0, 0, 0, 0, pad, pad, 0})});
    h = g.reshape(g.transpose(g.reshape(h, {-1, nw, window, nw, window, c.embed_dim}), {0, 1, 3, 2, 4, 5}),
                  {-1, window, window, c.embed_dim});
    h = encoder_attention(g, h, prefix + ".attn", window, window, c.embed_dim, c.num_heads, c.qkv_bias, c.use_rel_pos);
    h = g.reshape(g.transpose(g.reshape(h, {-1, nw, nw, window, window, c.embed_dim}), {0, 1, 3, 2, 4, 5}),
                  {-1, padded, padded, c.embed_dim});
    if (pad > 0) h = g.op("Slice", {h, g.ints({0, 0}), g.ints({grid, grid}), g.ints({1, 2})});
  } else {
    h = encoder_attention(g, h, prefix + ".attn", grid, grid, c.embed_dim, c.num_heads, c.qkv_bias, c.use_rel_pos);
  }
  const std::string y = g.op("Add", {x, h});
  std::string m = g.layer_norm(y, prefix + ".norm2", eps);
  m = g.linear(g.gelu(g.linear(m, prefix + ".mlp.lin1")), prefix + ".mlp.lin2");
  return g.op("Add", {y, m});
}

}  // namespace

onnx::Model image_encoder_onnx(Sam& model) {
  const ImageEncoderConfig& c = model->config.image_encoder;
  const int64_t grid = c.img_size / c.patch_size;
  GraphBuilder g(GraphBuilder::tensors_of(*model));
  const std::string prefix = "image_encoder";
  // (B, 3, S, S) -> (B, C, S/p, S/p) -> (B, S/p, S/p, C) + pos_embed
  std::string x = g.conv("image", prefix + ".patch_embed.proj", c.patch_size, 0, true);
  x = g.op("Add", {g.transpose(x, {0, 2, 3, 1}), g.weight(prefix + ".pos_embed")});
  for (int i = 0; i < c.depth; ++i) {
    const bool global =
        std::find(c.global_attn_indexes.begin(), c.global_attn_indexes.end(), i) != c.global_attn_indexes.end();
    x = encoder_block(g, x, fmt::format("{}.blocks.{}", prefix, i), c, grid, global ? 0 : c.window_size);
  }
  x = g.transpose(x, {0, 3, 1, 2});
  x = g.layer_norm_2d(g.conv(x, prefix + ".neck.0", 1, 0, false), prefix + ".neck.1", 1e-6f);
  x = g.layer_norm_2d(g.conv(x, prefix + ".neck.2", 1, 1, false), prefix + ".neck.3", 1e-6f);
  g.output(x, "image_embeddings");

  onnx::Model m;
  m.graph = g.finish("medsam_image_encoder");
  m.graph.inputs.push_back({"image", onnx::ElemType::kFloat,
                            {{-1, "batch"}, {c.in_chans, ""}, {c.img_size, ""}, {c.img_size, ""}},
                            "resized to the model's input size and min-max scaled to [0, 1] (MedSAM)"});
  m.graph.outputs.push_back(
      {"image_embeddings", onnx::ElemType::kFloat, {{-1, "batch"}, {c.out_chans, ""}, {grid, ""}, {grid, ""}}, ""});
  m.producer_name = "medsam";
  m.producer_version = version_string();
  m.doc = fmt::format("{} image encoder at {}x{} (ref: segment_anything ImageEncoderViT.forward)",
                      model->config.arch, c.img_size, c.img_size);
  m.metadata = {{"part", "image_encoder"}, {"arch", model->config.arch}, {"img_size", std::to_string(c.img_size)}};
  return m;
}

}  // namespace medsam

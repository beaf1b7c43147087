// Prompt encoder + mask decoder + mask post-processing as one ONNX graph, with SamOnnxModel's inputs
// (so deployment code written for SAM's exported decoder feeds it unchanged) and a dynamic number of
// prompts (several boxes of one image in one call).
#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>

#include "medsam/core/version.h"
#include "medsam/model/common.h"
#include "medsam/model/onnx_export.h"
#include "medsam/model/onnx_graph.h"

namespace medsam {
namespace {

using onnx::Attribute;
using onnx_export::GraphBuilder;

// ref: segment_anything/modeling/transformer.py Attention.forward. q, k, v: (b, n, C) (b may broadcast).
std::string decoder_attention(GraphBuilder& g, const std::string& q_in, const std::string& k_in,
                              const std::string& v_in, const std::string& prefix, int64_t heads) {
  const int64_t internal = g.tensor(prefix + ".q_proj.weight").size(0), hd = internal / heads;
  const std::string q = g.transpose(g.reshape(g.linear(q_in, prefix + ".q_proj"), {0, 0, heads, hd}), {0, 2, 1, 3});
  const std::string k_t = g.transpose(g.reshape(g.linear(k_in, prefix + ".k_proj"), {0, 0, heads, hd}), {0, 2, 3, 1});
  const std::string v = g.transpose(g.reshape(g.linear(v_in, prefix + ".v_proj"), {0, 0, heads, hd}), {0, 2, 1, 3});
  std::string attn = g.op("Div", {g.op("MatMul", {q, k_t}), g.scalar(static_cast<float>(std::sqrt(double(hd))))});
  attn = g.op("Softmax", {attn}, {Attribute::of("axis", int64_t{-1})});
  const std::string out = g.reshape(g.transpose(g.op("MatMul", {attn, v}), {0, 2, 1, 3}), {0, 0, internal});
  return g.linear(out, prefix + ".out_proj");
}

// ref: segment_anything/modeling/transformer.py TwoWayAttentionBlock.forward
std::pair<std::string, std::string> two_way_block(GraphBuilder& g, std::string queries, std::string keys,
                                                  const std::string& query_pe, const std::string& key_pe,
                                                  const std::string& prefix, int64_t heads, bool skip_first_layer_pe) {
  const float eps = 1e-5f;  // torch.nn.LayerNorm's default, as the decoder's norms are built
  if (skip_first_layer_pe) {
    queries = decoder_attention(g, queries, queries, queries, prefix + ".self_attn", heads);
  } else {
    const std::string q = g.op("Add", {queries, query_pe});
    queries = g.op("Add", {queries, decoder_attention(g, q, q, queries, prefix + ".self_attn", heads)});
  }
  queries = g.layer_norm(queries, prefix + ".norm1", eps);
  std::string q = g.op("Add", {queries, query_pe});
  std::string k = g.op("Add", {keys, key_pe});
  queries = g.op("Add", {queries, decoder_attention(g, q, k, keys, prefix + ".cross_attn_token_to_image", heads)});
  queries = g.layer_norm(queries, prefix + ".norm2", eps);
  const std::string mlp = g.linear(g.relu(g.linear(queries, prefix + ".mlp.lin1")), prefix + ".mlp.lin2");
  queries = g.layer_norm(g.op("Add", {queries, mlp}), prefix + ".norm3", eps);
  q = g.op("Add", {queries, query_pe});
  k = g.op("Add", {keys, key_pe});
  keys = g.op("Add", {keys, decoder_attention(g, k, q, queries, prefix + ".cross_attn_image_to_token", heads)});
  keys = g.layer_norm(keys, prefix + ".norm4", eps);
  return {queries, keys};
}

// ref: segment_anything/modeling/mask_decoder.py MLP.forward (ReLU between layers, no sigmoid)
std::string mlp(GraphBuilder& g, std::string x, const std::string& prefix, int layers) {
  for (int i = 0; i < layers; ++i) {
    x = g.linear(x, fmt::format("{}.layers.{}", prefix, i));
    if (i < layers - 1) x = g.relu(x);
  }
  return x;
}

// ref: segment_anything/utils/onnx.py SamOnnxModel._embed_points (prompt_encoder._pe_encoding inlined)
std::string embed_points(GraphBuilder& g, const std::string& coords, const std::string& labels, int64_t input_size) {
  const std::string pe = "prompt_encoder";
  std::string c = g.op("Div", {g.op("Add", {coords, g.scalar(0.5f)}), g.scalar(static_cast<float>(input_size))});
  c = g.op("Sub", {g.op("Mul", {c, g.scalar(2.0f)}), g.scalar(1.0f)});
  c = g.op("MatMul", {c, g.weight(pe + ".pe_layer.positional_encoding_gaussian_matrix")});
  c = g.op("Mul", {c, g.scalar(static_cast<float>(2 * M_PI))});
  std::string emb = g.op("Concat", {g.op("Sin", {c}), g.op("Cos", {c})}, {Attribute::of("axis", int64_t{-1})});
  const std::string l = g.op("Unsqueeze", {labels, g.ints({-1})});  // (B, N, 1)
  const auto is = [&](float value) { return g.cast(g.op("Equal", {l, g.scalar(value)}), onnx::ElemType::kFloat); };
  const std::string not_a_point = is(-1.0f);
  emb = g.op("Mul", {emb, g.op("Sub", {g.scalar(1.0f), not_a_point})});
  emb = g.op("Add", {emb, g.op("Mul", {g.weight(pe + ".not_a_point_embed.weight"), not_a_point})});
  for (int i = 0; i < 4; ++i) {
    const std::string w = g.weight(fmt::format("{}.point_embeddings.{}.weight", pe, i));
    emb = g.op("Add", {emb, g.op("Mul", {w, is(static_cast<float>(i))})});
  }
  return emb;
}

// ref: segment_anything/utils/onnx.py SamOnnxModel._embed_masks
std::string embed_masks(GraphBuilder& g, Sam& model, const std::string& mask_input, const std::string& has_mask) {
  auto& down = model->prompt_encoder->mask_downscaling;
  const std::string p = "prompt_encoder.mask_downscaling";
  std::string x = g.conv(mask_input, p + ".0", 2, 0, true);
  x = g.gelu(g.layer_norm_2d(x, p + ".1", static_cast<float>(down[1]->as<LayerNorm2d>()->eps)));
  x = g.conv(x, p + ".3", 2, 0, true);
  x = g.gelu(g.layer_norm_2d(x, p + ".4", static_cast<float>(down[4]->as<LayerNorm2d>()->eps)));
  x = g.conv(x, p + ".6", 1, 0, true);
  const at::Tensor no_mask = g.tensor("prompt_encoder.no_mask_embed.weight");
  const std::string no_mask_map = g.constant(no_mask.reshape({1, -1, 1, 1}), "prompt_encoder.no_mask_embed.map");
  return g.op("Add", {g.op("Mul", {has_mask, x}),
                      g.op("Mul", {g.op("Sub", {g.scalar(1.0f), has_mask}), no_mask_map})});
}

// ref: segment_anything/utils/onnx.py SamOnnxModel.select_masks: score = iou + (num_points - 2.5) * 1000 on
// token 0, so token 0 wins with 3 or more points (a box plus the padding point, two clicks plus it) and
// the best-scored multimask token with fewer (one click plus the padding point, a bare box's 2 corners).
std::pair<std::string, std::string> select_like_sam(GraphBuilder& g, const std::string& masks, const std::string& iou,
                                                    const std::string& point_coords, int64_t tokens) {
  at::Tensor reweight = torch::zeros({1, tokens});
  reweight[0][0] = 1000.0f;
  const std::string num_points = g.cast(
      g.op("Gather", {g.op("Shape", {point_coords}), g.int_scalar(1)}, {Attribute::of("axis", int64_t{0})}),
      onnx::ElemType::kFloat);
  const std::string score = g.op(
      "Add", {iou, g.op("Mul", {g.op("Sub", {num_points, g.scalar(2.5f)}), g.constant(reweight, "score_reweight")})});
  const std::string best = g.op("ArgMax", {score}, {Attribute::of("axis", int64_t{1}), Attribute::of("keepdims", int64_t{1})});
  const std::string token_ids = g.constant(torch::arange(tokens, at::kLong).reshape({1, tokens}), "token_ids");
  const std::string onehot = g.cast(g.op("Equal", {token_ids, best}), onnx::ElemType::kFloat);
  // ReduceSum takes its axes as an input since opset 13.
  const std::string sum_axis = g.ints({1});
  const Attribute keepdims = Attribute::of("keepdims", int64_t{1});
  const std::string chosen_masks = g.op(
      "ReduceSum", {g.op("Mul", {masks, g.op("Unsqueeze", {onehot, g.ints({2, 3})})}), sum_axis}, {keepdims});
  const std::string chosen_iou = g.op("ReduceSum", {g.op("Mul", {iou, onehot}), sum_axis}, {keepdims});
  return {chosen_masks, chosen_iou};
}

// Resize of (B, M, h, w) to (B, M, size) as F.interpolate(bilinear, align_corners=False).
std::string resize_bilinear(GraphBuilder& g, const std::string& x, const std::string& size_hw) {
  const std::string bm = g.op("Slice", {g.op("Shape", {x}), g.ints({0}), g.ints({2})});
  const std::string sizes = g.op("Concat", {bm, size_hw}, {Attribute::of("axis", int64_t{0})});
  return g.op("Resize", {x, "", "", sizes},
              {Attribute::of("mode", std::string("linear")),
               Attribute::of("coordinate_transformation_mode", std::string("pytorch_half_pixel"))});
}

}  // namespace

onnx::Model prompt_decoder_onnx(Sam& model, const OnnxExportOptions& options) {
  validate(options);
  const ModelConfig& cfg = model->config;
  const int64_t C = cfg.prompt_encoder.embed_dim, h = cfg.prompt_encoder.image_embedding_size, w = h;
  const int64_t input_size = cfg.prompt_encoder.input_image_size;
  const int64_t tokens = cfg.mask_decoder.num_multimask_outputs + 1;
  const int64_t heads = cfg.mask_decoder.transformer_num_heads;
  GraphBuilder g(GraphBuilder::tensors_of(*model));

  // Prompts -> sparse (B, N, C) and dense (1, C, h, w) embeddings.
  const std::string sparse = embed_points(g, "point_coords", "point_labels", input_size);
  const std::string dense = embed_masks(g, model, "mask_input", "has_mask_input");

  // ref: segment_anything/modeling/mask_decoder.py MaskDecoder.predict_masks
  const std::string md = "mask_decoder";
  const at::Tensor output_tokens =
      at::cat({g.tensor(md + ".iou_token.weight"), g.tensor(md + ".mask_tokens.weight")}, 0).unsqueeze(0);
  const std::string prompts = g.op("Slice", {g.op("Shape", {"point_coords"}), g.ints({0}), g.ints({1})});
  const std::string expanded = g.op(
      "Expand", {g.constant(output_tokens, md + ".output_tokens"),
                 g.op("Concat", {prompts, g.ints({1 + tokens, C})}, {Attribute::of("axis", int64_t{0})})});
  const std::string query_tokens = g.op("Concat", {expanded, sparse}, {Attribute::of("axis", int64_t{1})});
  const std::string src = g.op("Add", {"image_embeddings", dense});  // (1, C, h, w)
  std::string keys = g.transpose(g.reshape(src, {0, C, h * w}), {0, 2, 1});
  at::Tensor dense_pe;
  {
    torch::NoGradGuard no_grad;
    dense_pe = model->prompt_encoder->get_dense_pe().detach().cpu().reshape({1, C, h * w}).transpose(1, 2);
  }
  const std::string key_pe = g.constant(dense_pe, "prompt_encoder.dense_pe");

  // ref: segment_anything/modeling/transformer.py TwoWayTransformer.forward
  std::string queries = query_tokens;
  for (int i = 0; i < cfg.mask_decoder.transformer_depth; ++i) {
    std::tie(queries, keys) = two_way_block(g, queries, keys, query_tokens, key_pe,
                                            fmt::format("{}.transformer.layers.{}", md, i), heads, i == 0);
  }
  {
    const std::string q = g.op("Add", {queries, query_tokens});
    const std::string k = g.op("Add", {keys, key_pe});
    queries = g.op("Add", {queries, decoder_attention(g, q, k, keys, md + ".transformer.final_attn_token_to_image",
                                                      heads)});
    queries = g.layer_norm(queries, md + ".transformer.norm_final_attn", 1e-5f);
  }

  // Upscale the image tokens x4 and project them on each mask token's hypernetwork output.
  const std::string up = md + ".output_upscaling";
  std::string upscaled = g.reshape(g.transpose(keys, {0, 2, 1}), {0, C, h, w});
  upscaled = g.conv_transpose(upscaled, up + ".0", 2);
  upscaled = g.gelu(g.layer_norm_2d(
      upscaled, up + ".1", static_cast<float>(model->mask_decoder->output_upscaling[1]->as<LayerNorm2d>()->eps)));
  upscaled = g.gelu(g.conv_transpose(upscaled, up + ".3", 2));
  const int64_t uc = C / 8;
  std::vector<std::string> hyper;
  for (int64_t i = 0; i < tokens; ++i) {
    const std::string token = g.op("Gather", {queries, g.int_scalar(1 + i)}, {Attribute::of("axis", int64_t{1})});
    hyper.push_back(g.op("Unsqueeze", {mlp(g, token, fmt::format("{}.output_hypernetworks_mlps.{}", md, i), 3),
                                       g.ints({1})}));
  }
  const std::string hyper_in = g.op("Concat", hyper, {Attribute::of("axis", int64_t{1})});  // (B, T, C/8)
  std::string masks = g.reshape(g.op("MatMul", {hyper_in, g.reshape(upscaled, {0, uc, -1})}), {0, tokens, 4 * h, 4 * w});
  const std::string iou_token = g.op("Gather", {queries, g.int_scalar(0)}, {Attribute::of("axis", int64_t{1})});
  std::string iou = mlp(g, iou_token, md + ".iou_prediction_head", cfg.mask_decoder.iou_head_depth);

  if (options.masks == "single") {
    if (options.postprocess == "sam") {
      std::tie(masks, iou) = select_like_sam(g, masks, iou, "point_coords", tokens);
    } else {  // MedSAM: multimask_output=False, token 0
      masks = g.op("Slice", {masks, g.ints({0}), g.ints({1}), g.ints({1})});
      iou = g.op("Slice", {iou, g.ints({0}), g.ints({1}), g.ints({1})});
    }
  }

  const std::string orig_hw = g.cast("orig_im_size", onnx::ElemType::kInt64);
  std::string full;
  if (options.postprocess == "sam") {
    // ref: segment_anything/utils/onnx.py SamOnnxModel.mask_postprocessing: to the square input, crop the
    // resized image's extent (longest side = input size), then to the original size.
    std::string x = resize_bilinear(g, masks, g.ints({input_size, input_size}));
    const std::string longest = g.op("ReduceMax", {"orig_im_size"}, {Attribute::of("keepdims", int64_t{0})});
    const std::string scale = g.op("Div", {g.scalar(static_cast<float>(input_size)), longest});
    const std::string prepadded =
        g.cast(g.op("Floor", {g.op("Add", {g.op("Mul", {"orig_im_size", scale}), g.scalar(0.5f)})}),
               onnx::ElemType::kInt64);
    x = g.op("Slice", {x, g.ints({0, 0}), prepadded, g.ints({2, 3})});
    full = resize_bilinear(g, x, orig_hw);
    g.output(full, "masks");
  } else {
    // ref: MedSAM_Inference.py medsam_inference: sigmoid, then bilinear from the low-res grid to (H, W)
    full = resize_bilinear(g, g.op("Sigmoid", {masks}), orig_hw);
    g.output(full, "probabilities");
  }
  g.output(iou, "iou_predictions");
  g.output(masks, "low_res_masks");

  const int64_t m = options.masks == "single" ? 1 : tokens;
  onnx::Model out;
  out.graph = g.finish("medsam_prompt_decoder");
  using onnx::ElemType;
  const onnx::Dim prompts_dim{-1, "num_prompts"}, points_dim{-1, "num_points"};
  out.graph.inputs = {
      {"image_embeddings", ElemType::kFloat, {{1, ""}, {C, ""}, {h, ""}, {w, ""}}, "the image encoder's output"},
      {"point_coords", ElemType::kFloat, {prompts_dim, points_dim, {2, ""}},
       "(x, y) in model-input pixels; a box is two points (x0, y0) labelled 2 and (x1, y1) labelled 3"},
      {"point_labels", ElemType::kFloat, {prompts_dim, points_dim},
       "1 foreground, 0 background, 2/3 box corners, -1 padding point"},
      {"mask_input", ElemType::kFloat, {{1, ""}, {1, ""}, {4 * h, ""}, {4 * w, ""}}, "low-res logits of a previous call"},
      {"has_mask_input", ElemType::kFloat, {{1, ""}}, "1 to use mask_input, 0 to ignore it"},
      {"orig_im_size", ElemType::kFloat, {{2, ""}}, "(H, W) of the original image"},
  };
  const std::string full_name = options.postprocess == "sam" ? "masks" : "probabilities";
  out.graph.outputs = {
      {full_name, ElemType::kFloat, {prompts_dim, {m, ""}, {-1, "height"}, {-1, "width"}},
       options.postprocess == "sam" ? "logits at the original size (threshold 0)"
                                    : "MedSAM probabilities at the original size (threshold 0.5)"},
      {"iou_predictions", ElemType::kFloat, {prompts_dim, {m, ""}}, ""},
      {"low_res_masks", ElemType::kFloat, {prompts_dim, {m, ""}, {4 * h, ""}, {4 * w, ""}}, "logits"},
  };
  out.producer_name = "medsam";
  out.producer_version = version_string();
  out.doc = fmt::format("{} prompt encoder + mask decoder, {} mask(s), {} post-processing "
                        "(ref: segment_anything SamOnnxModel)",
                        cfg.arch, options.masks, options.postprocess);
  out.metadata = {{"part", "prompt_decoder"},
                  {"arch", cfg.arch},
                  {"img_size", std::to_string(input_size)},
                  {"masks", options.masks},
                  {"postprocess", options.postprocess},
                  {"mask_threshold", options.postprocess == "sam" ? "0.0" : "0.5"}};
  return out;
}

}  // namespace medsam

#include "medsam/core/config_model.h"

#include <fmt/format.h>

#include "medsam/core/config_check.h"

namespace medsam {

void ImageEncoderConfig::visit(ConfigVisitor& v) {
  v.field("img_size", img_size);
  v.field("patch_size", patch_size);
  v.field("in_chans", in_chans);
  v.field("embed_dim", embed_dim);
  v.field("depth", depth);
  v.field("num_heads", num_heads);
  v.field("mlp_ratio", mlp_ratio);
  v.field("out_chans", out_chans);
  v.field("qkv_bias", qkv_bias);
  v.field("use_rel_pos", use_rel_pos);
  v.field("window_size", window_size);
  v.field("global_attn_indexes", global_attn_indexes);
  v.field("layer_norm_eps", layer_norm_eps);
}

void PromptEncoderConfig::visit(ConfigVisitor& v) {
  v.field("embed_dim", embed_dim);
  v.field("image_embedding_size", image_embedding_size);
  v.field("input_image_size", input_image_size);
  v.field("mask_in_chans", mask_in_chans);
}

void MaskDecoderConfig::visit(ConfigVisitor& v) {
  v.field("transformer_dim", transformer_dim);
  v.field("transformer_depth", transformer_depth);
  v.field("transformer_num_heads", transformer_num_heads);
  v.field("transformer_mlp_dim", transformer_mlp_dim);
  v.field("attention_downsample_rate", attention_downsample_rate);
  v.field("num_multimask_outputs", num_multimask_outputs);
  v.field("iou_head_depth", iou_head_depth);
  v.field("iou_head_hidden_dim", iou_head_hidden_dim);
}

void ModelConfig::visit(ConfigVisitor& v) {
  v.field("arch", arch);
  v.sub("image_encoder", image_encoder);
  v.sub("prompt_encoder", prompt_encoder);
  v.sub("mask_decoder", mask_decoder);
}

void ModelConfig::validate() const {
  const auto& e = image_encoder;
  const auto& p = prompt_encoder;
  const auto& d = mask_decoder;
  require_config(e.img_size > 0 && e.patch_size > 0 && e.img_size % e.patch_size == 0,
                 {"model.image_encoder.img_size", "model.image_encoder.patch_size"},
                 fmt::format("model.image_encoder.img_size {} must be a positive multiple of patch_size {}", e.img_size,
                             e.patch_size));
  require_config(e.embed_dim > 0 && e.num_heads > 0 && e.embed_dim % e.num_heads == 0,
                 {"model.image_encoder.embed_dim", "model.image_encoder.num_heads"},
                 fmt::format("model.image_encoder.embed_dim {} must be divisible by num_heads {}", e.embed_dim,
                             e.num_heads));
  require_config(e.depth > 0, {"model.image_encoder.depth"}, "model.image_encoder.depth must be positive");
  require_config(e.mlp_ratio > 0, {"model.image_encoder.mlp_ratio"}, "model.image_encoder.mlp_ratio must be positive");
  require_config(e.window_size >= 0, {"model.image_encoder.window_size"},
                 "model.image_encoder.window_size must be >= 0 (0 = all global)");
  for (int i : e.global_attn_indexes)
    require_config(i >= 0 && i < e.depth, {"model.image_encoder.global_attn_indexes", "model.image_encoder.depth"},
                   fmt::format("model.image_encoder.global_attn_indexes has {} outside [0, depth={})", i, e.depth));
  require_config(p.embed_dim == e.out_chans, {"model.prompt_encoder.embed_dim", "model.image_encoder.out_chans"},
                 fmt::format("model.prompt_encoder.embed_dim {} must equal model.image_encoder.out_chans {}",
                             p.embed_dim, e.out_chans));
  require_config(p.image_embedding_size == e.img_size / e.patch_size,
                 {"model.prompt_encoder.image_embedding_size", "model.image_encoder.img_size",
                  "model.image_encoder.patch_size"},
                 fmt::format("model.prompt_encoder.image_embedding_size {} must equal img_size/patch_size = {}",
                             p.image_embedding_size, e.img_size / e.patch_size));
  require_config(p.input_image_size == e.img_size, {"model.prompt_encoder.input_image_size", "model.image_encoder.img_size"},
                 fmt::format("model.prompt_encoder.input_image_size {} must equal model.image_encoder.img_size {}",
                             p.input_image_size, e.img_size));
  require_config(d.transformer_dim == e.out_chans, {"model.mask_decoder.transformer_dim", "model.image_encoder.out_chans"},
                 fmt::format("model.mask_decoder.transformer_dim {} must equal model.image_encoder.out_chans {}",
                             d.transformer_dim, e.out_chans));
  require_config(d.transformer_num_heads > 0 && d.transformer_dim % d.transformer_num_heads == 0,
                 {"model.mask_decoder.transformer_num_heads", "model.mask_decoder.transformer_dim"},
                 "model.mask_decoder.transformer_num_heads must divide transformer_dim");
  require_config(d.attention_downsample_rate > 0 &&
                     (d.transformer_dim / d.attention_downsample_rate) % d.transformer_num_heads == 0,
                 {"model.mask_decoder.attention_downsample_rate", "model.mask_decoder.transformer_dim",
                  "model.mask_decoder.transformer_num_heads"},
                 "model.mask_decoder: transformer_dim / attention_downsample_rate must be divisible by the heads");
  require_config(d.num_multimask_outputs >= 1, {"model.mask_decoder.num_multimask_outputs"},
                 "model.mask_decoder.num_multimask_outputs must be >= 1");
  // Sizes LibTorch would otherwise fail on deep inside a layer, with a backtrace instead of a key.
  require_config(e.in_chans > 0 && e.out_chans > 0, {"model.image_encoder.in_chans", "model.image_encoder.out_chans"},
                 "model.image_encoder.in_chans/out_chans must be positive");
  require_config(e.layer_norm_eps > 0, {"model.image_encoder.layer_norm_eps"},
                 "model.image_encoder.layer_norm_eps must be > 0");
  require_config(p.mask_in_chans >= 4 && p.mask_in_chans % 4 == 0, {"model.prompt_encoder.mask_in_chans"},
                 "model.prompt_encoder.mask_in_chans must be a positive multiple of 4");
  require_config(d.transformer_depth >= 1 && d.transformer_mlp_dim >= 1 && d.iou_head_depth >= 1,
                 {"model.mask_decoder.transformer_depth", "model.mask_decoder.transformer_mlp_dim",
                  "model.mask_decoder.iou_head_depth"},
                 "model.mask_decoder.transformer_depth/transformer_mlp_dim/iou_head_depth must be >= 1");
  require_config(d.transformer_dim % 8 == 0, {"model.mask_decoder.transformer_dim"},
                 "model.mask_decoder.transformer_dim must be divisible by 8 (upscaling)");
  require_config(d.iou_head_hidden_dim >= 1, {"model.mask_decoder.iou_head_hidden_dim"},
                 "model.mask_decoder.iou_head_hidden_dim must be >= 1");
  // The MLP's width is int(embed_dim * mlp_ratio), as SAM's Block computes it.
  require_config(static_cast<int64_t>(e.embed_dim * e.mlp_ratio) >= 1, {"model.image_encoder.mlp_ratio", "model.image_encoder.embed_dim"},
                 "model.image_encoder: int(embed_dim * mlp_ratio) must be >= 1");
}

}  // namespace medsam

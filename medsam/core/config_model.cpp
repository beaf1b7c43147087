#include "medsam/core/config_model.h"

#include <fmt/format.h>

#include "medsam/core/error.h"

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

namespace {
void require(bool ok, const std::string& what) {
  if (!ok) throw ConfigError("invalid model config: " + what);
}
}  // namespace

void ModelConfig::validate() const {
  const auto& e = image_encoder;
  const auto& p = prompt_encoder;
  const auto& d = mask_decoder;
  require(e.img_size > 0 && e.patch_size > 0 && e.img_size % e.patch_size == 0,
          fmt::format("model.image_encoder.img_size {} must be a positive multiple of patch_size {}", e.img_size,
                      e.patch_size));
  require(e.embed_dim > 0 && e.num_heads > 0 && e.embed_dim % e.num_heads == 0,
          fmt::format("model.image_encoder.embed_dim {} must be divisible by num_heads {}", e.embed_dim, e.num_heads));
  require(e.depth > 0, "model.image_encoder.depth must be positive");
  require(e.mlp_ratio > 0, "model.image_encoder.mlp_ratio must be positive");
  require(e.window_size >= 0, "model.image_encoder.window_size must be >= 0 (0 = all global)");
  for (int i : e.global_attn_indexes)
    require(i >= 0 && i < e.depth,
            fmt::format("model.image_encoder.global_attn_indexes has {} outside [0, depth={})", i, e.depth));
  require(p.embed_dim == e.out_chans,
          fmt::format("model.prompt_encoder.embed_dim {} must equal model.image_encoder.out_chans {}", p.embed_dim,
                      e.out_chans));
  require(p.image_embedding_size == e.img_size / e.patch_size,
          fmt::format("model.prompt_encoder.image_embedding_size {} must equal img_size/patch_size = {}",
                      p.image_embedding_size, e.img_size / e.patch_size));
  require(p.input_image_size == e.img_size,
          fmt::format("model.prompt_encoder.input_image_size {} must equal model.image_encoder.img_size {}",
                      p.input_image_size, e.img_size));
  require(d.transformer_dim == e.out_chans,
          fmt::format("model.mask_decoder.transformer_dim {} must equal model.image_encoder.out_chans {}",
                      d.transformer_dim, e.out_chans));
  require(d.transformer_num_heads > 0 && d.transformer_dim % d.transformer_num_heads == 0,
          "model.mask_decoder.transformer_num_heads must divide transformer_dim");
  require(d.attention_downsample_rate > 0 &&
              (d.transformer_dim / d.attention_downsample_rate) % d.transformer_num_heads == 0,
          "model.mask_decoder: transformer_dim / attention_downsample_rate must be divisible by the heads");
  require(d.num_multimask_outputs >= 1, "model.mask_decoder.num_multimask_outputs must be >= 1");
  // Sizes LibTorch would otherwise fail on deep inside a layer, with a backtrace instead of a key.
  require(e.in_chans > 0 && e.out_chans > 0, "model.image_encoder.in_chans/out_chans must be positive");
  require(e.layer_norm_eps > 0, "model.image_encoder.layer_norm_eps must be > 0");
  require(p.mask_in_chans >= 4 && p.mask_in_chans % 4 == 0,
          "model.prompt_encoder.mask_in_chans must be a positive multiple of 4");
  require(d.transformer_depth >= 1 && d.transformer_mlp_dim >= 1 && d.iou_head_depth >= 1,
          "model.mask_decoder.transformer_depth/transformer_mlp_dim/iou_head_depth must be >= 1");
  require(d.transformer_dim % 8 == 0, "model.mask_decoder.transformer_dim must be divisible by 8 (upscaling)");
}

}  // namespace medsam

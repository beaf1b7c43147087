// Typed configuration of the SAM/MedSAM model. Defaults are SAM ViT-B (MedSAM's backbone).
// Presets live only in medsam/model/presets.cpp; configs/model/*.yaml mirror them.
#pragma once

#include <string>
#include <vector>

#include "medsam/core/config_visit.h"

namespace medsam {

// ref: segment_anything/modeling/image_encoder.py ImageEncoderViT.__init__
struct ImageEncoderConfig {
  int img_size = 1024;
  int patch_size = 16;
  int in_chans = 3;
  int embed_dim = 768;
  int depth = 12;
  int num_heads = 12;
  double mlp_ratio = 4.0;
  int out_chans = 256;
  bool qkv_bias = true;
  bool use_rel_pos = true;
  int window_size = 14;
  std::vector<int> global_attn_indexes{2, 5, 8, 11};
  double layer_norm_eps = 1e-6;

  void visit(ConfigVisitor& v);
};

// ref: segment_anything/modeling/prompt_encoder.py PromptEncoder.__init__
struct PromptEncoderConfig {
  int embed_dim = 256;             // must equal image_encoder.out_chans
  int image_embedding_size = 64;   // img_size / patch_size
  int input_image_size = 1024;     // square input, as SAM builds it
  int mask_in_chans = 16;

  void visit(ConfigVisitor& v);
};

// ref: segment_anything/modeling/mask_decoder.py MaskDecoder.__init__, transformer.py TwoWayTransformer
struct MaskDecoderConfig {
  int transformer_dim = 256;
  int transformer_depth = 2;
  int transformer_num_heads = 8;
  int transformer_mlp_dim = 2048;
  int attention_downsample_rate = 2;
  int num_multimask_outputs = 3;
  int iou_head_depth = 3;
  int iou_head_hidden_dim = 256;

  void visit(ConfigVisitor& v);
};

struct ModelConfig {
  std::string arch = "vit_b";  // preset name this config came from (informational; shapes decide)
  ImageEncoderConfig image_encoder;
  PromptEncoderConfig prompt_encoder;
  MaskDecoderConfig mask_decoder;

  void visit(ConfigVisitor& v);
  // Throws ConfigError when the parts disagree (e.g. prompt embed_dim != encoder out_chans).
  void validate() const;
};

}  // namespace medsam

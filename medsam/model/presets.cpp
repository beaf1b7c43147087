#include "medsam/model/presets.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "medsam/core/error.h"

namespace medsam {
namespace {

// ref: segment_anything/build_sam.py _build_sam (shared prompt encoder / decoder settings)
ModelConfig sam_base(const std::string& arch, int embed_dim, int depth, int heads, std::vector<int> global_idx) {
  ModelConfig c;
  c.arch = arch;
  c.image_encoder.embed_dim = embed_dim;
  c.image_encoder.depth = depth;
  c.image_encoder.num_heads = heads;
  c.image_encoder.global_attn_indexes = std::move(global_idx);
  return c;  // everything else is SAM's default (1024 input, 16 patch, 256 out, window 14, ...)
}

// tests/fixtures/sam_tiny/README.md
ModelConfig tiny() {
  ModelConfig c;
  c.arch = "tiny";
  auto& e = c.image_encoder;
  e.img_size = 256;
  e.embed_dim = 96;
  e.depth = 4;
  e.num_heads = 4;
  e.out_chans = 32;
  e.global_attn_indexes = {1, 3};
  auto& p = c.prompt_encoder;
  p.embed_dim = 32;
  p.image_embedding_size = 16;
  p.input_image_size = 256;
  p.mask_in_chans = 16;
  auto& d = c.mask_decoder;
  d.transformer_dim = 32;
  d.transformer_mlp_dim = 64;
  d.iou_head_hidden_dim = 32;
  return c;
}

}  // namespace

std::vector<std::string> model_preset_names() { return {"tiny", "vit_b", "vit_l", "vit_h"}; }

ModelConfig model_preset(const std::string& name) {
  // ref: segment_anything/build_sam.py build_sam_vit_b / _vit_l / _vit_h
  if (name == "vit_b") return sam_base("vit_b", 768, 12, 12, {2, 5, 8, 11});
  if (name == "vit_l") return sam_base("vit_l", 1024, 24, 16, {5, 11, 17, 23});
  if (name == "vit_h") return sam_base("vit_h", 1280, 32, 16, {7, 15, 23, 31});
  if (name == "tiny") return tiny();
  throw UsageError(fmt::format("unknown model preset '{}' (known: {})", name, fmt::join(model_preset_names(), ", ")));
}

}  // namespace medsam

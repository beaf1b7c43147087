#include "medsam/model/resolution.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <regex>
#include <unordered_map>

#include "medsam/core/error.h"
#include "medsam/model/attention.h"

namespace medsam {

ModelConfig at_input_size(ModelConfig config, int img_size) {
  const int patch = config.image_encoder.patch_size;
  if (img_size <= 0 || patch <= 0 || img_size % patch != 0)
    throw UsageError(fmt::format("input size {} must be a positive multiple of the patch size {}", img_size, patch));
  config.image_encoder.img_size = img_size;
  config.prompt_encoder.input_image_size = img_size;
  config.prompt_encoder.image_embedding_size = img_size / patch;
  return config;
}

namespace {

namespace F = torch::nn::functional;

// ref: timm.layers.resample_abs_pos_embed (bicubic, antialias when shrinking); (1, g, g, C) layout
at::Tensor resize_pos_embed(const at::Tensor& t, int64_t grid_h, int64_t grid_w) {
  const bool shrink = grid_h < t.size(1) || grid_w < t.size(2);
  const at::Tensor chw = t.permute({0, 3, 1, 2}).to(at::kFloat);  // (1, C, g, g)
  const at::Tensor out = F::interpolate(chw, F::InterpolateFuncOptions()
                                                 .size(std::vector<int64_t>{grid_h, grid_w})
                                                 .mode(torch::kBicubic)
                                                 .align_corners(false)
                                                 .antialias(shrink));
  return out.permute({0, 2, 3, 1}).contiguous().to(t.scalar_type());
}

}  // namespace

std::vector<std::string> resize_to_model_resolution(NamedTensors& tensors, const NamedTensors& model_tensors) {
  std::unordered_map<std::string, const at::Tensor*> model;
  for (const auto& [k, t] : model_tensors) model.emplace(k, &t);
  static const std::regex rel_pos_key(R"(image_encoder\.blocks\.\d+\.attn\.rel_pos_[hw])");
  std::vector<std::string> resized;
  for (auto& [key, t] : tensors) {
    const auto it = model.find(key);
    if (it == model.end() || it->second->sizes() == t.sizes()) continue;
    const at::Tensor& want = *it->second;
    at::Tensor out;
    if (key == "image_encoder.pos_embed" && t.dim() == 4 && want.dim() == 4 && t.size(0) == 1 && want.size(0) == 1 &&
        t.size(3) == want.size(3)) {
      out = resize_pos_embed(t, want.size(1), want.size(2));
      resized.push_back(fmt::format("{} {}x{} -> {}x{} (bicubic)", key, t.size(1), t.size(2), want.size(1), want.size(2)));
    } else if (std::regex_match(key, rel_pos_key) && t.dim() == 2 && want.dim() == 2 && t.size(1) == want.size(1) &&
               t.size(0) % 2 == 1 && want.size(0) % 2 == 1) {
      // In float: checkpoints may hold fp16, which CPU interpolation does not take.
      out = resize_rel_pos_table(t.to(at::kFloat), want.size(0)).contiguous().to(t.scalar_type());
      resized.push_back(fmt::format("{} {}x{} -> {}x{} (linear, as get_rel_pos)", key, t.size(0), t.size(1),
                                    want.size(0), want.size(1)));
    }
    if (out.defined()) t = out;
  }
  return resized;
}

}  // namespace medsam

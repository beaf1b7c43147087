#include "medsam/model/prompt_encoder.h"

#include <torch/torch.h>

#include <cmath>
#include <mutex>
#include <optional>

#include "medsam/core/error.h"
#include "medsam/core/torch_compat.h"
#include "medsam/model/common.h"

namespace medsam {

// ref: segment_anything/modeling/prompt_encoder.py PositionEmbeddingRandom.__init__
PositionEmbeddingRandomImpl::PositionEmbeddingRandomImpl(int64_t num_pos_feats, double scale) {
  positional_encoding_gaussian_matrix =
      register_buffer("positional_encoding_gaussian_matrix", scale * torch::randn({2, num_pos_feats}));
}

// ref: segment_anything/modeling/prompt_encoder.py PositionEmbeddingRandom._pe_encoding
// Always in fp32, autocast off: in bf16, 2·x/1024 - 1 falls on 2-pixel steps for x < 256 or x >= 768,
// and the encoding's phase (2π·coords·G) is off by up to ~0.2, a few pixels of box noise under
// `precision: bf16` training. The MedSAM reference trains in fp32; this keeps its prompts at any precision.
at::Tensor PositionEmbeddingRandomImpl::pe_encoding(const at::Tensor& coords) {
  const auto device = coords.device().type();
  std::optional<compat::AutocastScope> fp32;
  if (compat::autocast_enabled(device)) fp32.emplace(device, compat::autocast_dtype(device), /*enabled=*/false);
  at::Tensor c = 2 * coords.to(at::kFloat) - 1;
  c = at::matmul(c, positional_encoding_gaussian_matrix.to(at::kFloat));
  c = 2 * M_PI * c;
  // In the buffer's dtype, as before: fp32, or bf16 for a model converted whole.
  return at::cat({at::sin(c), at::cos(c)}, -1).to(positional_encoding_gaussian_matrix.scalar_type());
}

// ref: segment_anything/modeling/prompt_encoder.py PositionEmbeddingRandom.forward
at::Tensor PositionEmbeddingRandomImpl::forward(int64_t h, int64_t w) {
  const auto opts = positional_encoding_gaussian_matrix.options();
  const at::Tensor grid = at::ones({h, w}, opts);
  const at::Tensor y_embed = (grid.cumsum(0) - 0.5) / h;
  const at::Tensor x_embed = (grid.cumsum(1) - 0.5) / w;
  const at::Tensor pe = pe_encoding(at::stack({x_embed, y_embed}, -1));  // (h, w, C)
  return pe.permute({2, 0, 1});                                          // (C, h, w)
}

// ref: segment_anything/modeling/prompt_encoder.py PositionEmbeddingRandom.forward_with_coords
at::Tensor PositionEmbeddingRandomImpl::forward_with_coords(const at::Tensor& coords, int64_t height,
                                                            int64_t width) {
  at::Tensor c = coords.to(at::kFloat).clone();
  c.select(-1, 0).div_(static_cast<double>(width));
  c.select(-1, 1).div_(static_cast<double>(height));
  return pe_encoding(c);
}

// ref: segment_anything/modeling/prompt_encoder.py PromptEncoder.__init__
PromptEncoderImpl::PromptEncoderImpl(const PromptEncoderConfig& c) : config(c) {
  pe_layer = register_module("pe_layer", PositionEmbeddingRandom(c.embed_dim / 2));
  point_embeddings = register_module("point_embeddings", torch::nn::ModuleList());
  for (int i = 0; i < 4; ++i) point_embeddings->push_back(torch::nn::Embedding(1, c.embed_dim));
  not_a_point_embed = register_module("not_a_point_embed", torch::nn::Embedding(1, c.embed_dim));
  const int64_t m = c.mask_in_chans;
  using torch::nn::Conv2dOptions;
  mask_downscaling = register_module(
      "mask_downscaling",
      torch::nn::Sequential(torch::nn::Conv2d(Conv2dOptions(1, m / 4, 2).stride(2)), LayerNorm2d(m / 4),
                            torch::nn::GELU(), torch::nn::Conv2d(Conv2dOptions(m / 4, m, 2).stride(2)),
                            LayerNorm2d(m), torch::nn::GELU(), torch::nn::Conv2d(Conv2dOptions(m, c.embed_dim, 1))));
  no_mask_embed = register_module("no_mask_embed", torch::nn::Embedding(1, c.embed_dim));
}

at::Tensor PromptEncoderImpl::point_embedding_weight(size_t i) {
  return point_embeddings[i]->as<torch::nn::Embedding>()->weight;  // (1, embed_dim)
}

namespace {

// The dense PE is a pure function of the gaussian matrix and the grid: with autograd off the last one is
// kept (the sin/cos of the 64x64 grid cost a few ms per decoder call) and reused while a call brings the
// same matrix (2 x 128 values compared), the same grid and device, whichever module asks.
struct DensePeCache {
  std::mutex mutex;
  at::Tensor gaussian;
  int64_t size = 0;
  at::Tensor pe;
};

DensePeCache& dense_pe_cache() {
  static auto* cache = new DensePeCache;  // never destroyed: no tensor freed after LibTorch's own statics
  return *cache;
}

}  // namespace

// (1, C, h, w); the cached tensor is shared: callers must not modify it in place.
at::Tensor PromptEncoderImpl::get_dense_pe() {
  // ref: segment_anything/modeling/prompt_encoder.py PromptEncoder.get_dense_pe
  const int64_t s = config.image_embedding_size;
  // Not cached under autograd, nor under autocast (its bf16 matmul would be reused by fp32 calls).
  if (at::GradMode::is_enabled() || compat::autocast_enabled(c10::DeviceType::CUDA) ||
      compat::autocast_enabled(c10::DeviceType::CPU)) {
    return pe_layer->forward(s, s).unsqueeze(0);
  }
  const at::Tensor& g = pe_layer->positional_encoding_gaussian_matrix;
  DensePeCache& cache = dense_pe_cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  const bool hit = cache.pe.defined() && cache.size == s && cache.gaussian.device() == g.device() &&
                   cache.gaussian.scalar_type() == g.scalar_type() && cache.gaussian.sizes() == g.sizes() &&
                   at::equal(cache.gaussian, g);
  if (!hit) {
    cache.pe = pe_layer->forward(s, s).unsqueeze(0);
    cache.gaussian = g.clone();
    cache.size = s;
  }
  return cache.pe;
}

// ref: segment_anything/modeling/prompt_encoder.py PromptEncoder._embed_points
at::Tensor PromptEncoderImpl::embed_points(const at::Tensor& points_in, const at::Tensor& labels_in, bool pad) {
  at::Tensor points = points_in.to(at::kFloat) + 0.5;  // pixel centre
  at::Tensor labels = labels_in.to(at::kLong);
  if (pad) {  // (0, 0) with label -1 stands in for the missing box
    points = at::cat({points, at::zeros({points.size(0), 1, 2}, points.options())}, 1);
    labels = at::cat({labels, at::full({labels.size(0), 1}, -1, labels.options())}, 1);
  }
  at::Tensor pe = pe_layer->forward_with_coords(points, config.input_image_size, config.input_image_size);
  const auto is = [&](int64_t v) { return (labels == v).unsqueeze(-1).to(pe.scalar_type()); };  // (B, N, 1)
  const at::Tensor not_point = is(-1);
  pe = pe * (1 - not_point);  // PE of ignored points is zeroed
  pe = pe + not_point * not_a_point_embed->weight + is(0) * point_embedding_weight(0) +
       is(1) * point_embedding_weight(1);
  return pe;  // (B, N(+1), embed_dim)
}

// ref: segment_anything/modeling/prompt_encoder.py PromptEncoder._embed_boxes
at::Tensor PromptEncoderImpl::embed_boxes(const at::Tensor& boxes) {
  const at::Tensor coords = (boxes.to(at::kFloat) + 0.5).reshape({-1, 2, 2});  // (B, corner, xy)
  at::Tensor corners = pe_layer->forward_with_coords(coords, config.input_image_size, config.input_image_size);
  const at::Tensor corner_embed = at::cat({point_embedding_weight(2), point_embedding_weight(3)}, 0);  // (2, C)
  return corners + corner_embed;  // (B, 2, embed_dim)
}

// ref: segment_anything/modeling/prompt_encoder.py PromptEncoder.forward
std::pair<at::Tensor, at::Tensor> PromptEncoderImpl::forward(const Prompts& p) {
  const bool has_points = p.point_coords.defined();
  if (has_points != p.point_labels.defined()) throw Error("prompt encoder: point_coords and point_labels go together");
  int64_t bs = 1;  // ref: PromptEncoder._get_batch_size
  if (has_points) {
    bs = p.point_coords.size(0);
  } else if (p.boxes.defined()) {
    bs = p.boxes.size(0);
  } else if (p.mask_inputs.defined()) {
    bs = p.mask_inputs.size(0);
  }
  const auto opts = no_mask_embed->weight.options();
  std::vector<at::Tensor> sparse{at::empty({bs, 0, config.embed_dim}, opts)};
  if (has_points) sparse.push_back(embed_points(p.point_coords.to(opts.device()), p.point_labels.to(opts.device()),
                                                /*pad=*/!p.boxes.defined()));
  if (p.boxes.defined()) sparse.push_back(embed_boxes(p.boxes.to(opts.device())));
  at::Tensor sparse_embeddings = at::cat(sparse, 1);

  at::Tensor dense;
  const int64_t s = config.image_embedding_size;
  if (p.mask_inputs.defined()) {
    dense = mask_downscaling->forward(p.mask_inputs.to(opts));  // (B, 1, 4s, 4s) -> (B, C, s, s)
  } else {
    dense = no_mask_embed->weight.reshape({1, -1, 1, 1}).expand({bs, -1, s, s});
  }
  return {sparse_embeddings, dense};
}

}  // namespace medsam

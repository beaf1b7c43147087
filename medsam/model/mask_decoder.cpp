#include "medsam/model/mask_decoder.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "medsam/core/error.h"
#include "medsam/core/torch_compat.h"

namespace medsam {

namespace {

void check_batches(int64_t bi, int64_t bp) {
  if (bi != bp && bi != 1) {
    throw Error(fmt::format("mask decoder: {} image embeddings and {} prompts; give one prompt per image, or one "
                            "image with any number of prompts",
                            bi, bp));
  }
}

// (C, h, w) -> (h*w, C) contiguous
at::Tensor token_major(const at::Tensor& map) { return map.flatten(1).t().contiguous(); }

// ConvTranspose2d(k=2, s=2) weight (Cin, Cout, 2, 2) as a (Cin, 4*Cout) GEMM operand whose column s*Cout + o
// (s = 2*di + dj) feeds output channel o at offset (di, dj): a pixel's 4 sub-pixels are then 4 rows of Cout.
at::Tensor subpixel_weight(const at::Tensor& w) { return w.permute({0, 2, 3, 1}).reshape({w.size(0), -1}); }

}  // namespace

// ref: segment_anything/modeling/mask_decoder.py MaskDecoder.__init__
MaskDecoderImpl::MaskDecoderImpl(const MaskDecoderConfig& c) : config(c), num_mask_tokens(c.num_multimask_outputs + 1) {
  const int64_t d = c.transformer_dim;
  transformer = register_module("transformer", TwoWayTransformer(c.transformer_depth, d, c.transformer_num_heads,
                                                                 c.transformer_mlp_dim, c.attention_downsample_rate));
  iou_token = register_module("iou_token", torch::nn::Embedding(1, d));
  mask_tokens = register_module("mask_tokens", torch::nn::Embedding(num_mask_tokens, d));
  using torch::nn::ConvTranspose2dOptions;
  output_upscaling = register_module(
      "output_upscaling",
      torch::nn::Sequential(torch::nn::ConvTranspose2d(ConvTranspose2dOptions(d, d / 4, 2).stride(2)),
                            LayerNorm2d(d / 4), torch::nn::GELU(),
                            torch::nn::ConvTranspose2d(ConvTranspose2dOptions(d / 4, d / 8, 2).stride(2)),
                            torch::nn::GELU()));
  output_hypernetworks_mlps = register_module("output_hypernetworks_mlps", torch::nn::ModuleList());
  for (int64_t i = 0; i < num_mask_tokens; ++i) output_hypernetworks_mlps->push_back(MLP(d, d, d / 8, 3));
  iou_prediction_head = register_module("iou_prediction_head",
                                        MLP(d, c.iou_head_hidden_dim, num_mask_tokens, c.iou_head_depth));
}

// ref: segment_anything/modeling/mask_decoder.py MaskDecoder.forward
std::pair<at::Tensor, at::Tensor> MaskDecoderImpl::forward(const at::Tensor& image_embeddings,
                                                           const at::Tensor& image_pe, const at::Tensor& sparse,
                                                           const at::Tensor& dense, bool multimask_output) {
  const int64_t start = multimask_output ? 1 : 0;
  const int64_t stop = multimask_output ? num_mask_tokens : 1;
  if (fast_path_applies(image_embeddings, sparse)) {
    auto [masks, iou_pred] = predict_masks_fast(image_embeddings, image_pe, sparse, dense, start, stop);
    return {masks, iou_pred.slice(1, start, stop)};
  }
  auto [masks, iou_pred] = predict_masks(image_embeddings, image_pe, sparse, dense);
  return {masks.slice(1, start, stop), iou_pred.slice(1, start, stop)};
}

// ref: segment_anything/modeling/mask_decoder.py MaskDecoder.predict_masks (MedSAM's batching rule)
std::pair<at::Tensor, at::Tensor> MaskDecoderImpl::predict_masks(const at::Tensor& image_embeddings,
                                                                 const at::Tensor& image_pe, const at::Tensor& sparse,
                                                                 const at::Tensor& dense) {
  const int64_t bp = sparse.size(0);
  const int64_t bi = image_embeddings.size(0);
  check_batches(bi, bp);
  // [iou token | mask tokens] per prompt, then the prompt tokens: (Bp, 1 + num_mask_tokens + Ns, C)
  const at::Tensor output_tokens = at::cat({iou_token->weight, mask_tokens->weight}, 0);
  const at::Tensor tokens =
      at::cat({output_tokens.unsqueeze(0).expand({bp, -1, -1}).to(sparse.scalar_type()), sparse}, 1);

  // Broadcasting the (1, C, h, w) embedding over Bp prompts is SAM's repeat_interleave without the copy.
  const at::Tensor src = image_embeddings + dense;  // (Bp, C, h, w)
  const int64_t b = src.size(0), c = src.size(1), h = src.size(2), w = src.size(3);

  auto [hs, src_out] = transformer(src, image_pe, tokens);
  const at::Tensor iou_token_out = hs.select(1, 0);                        // (Bp, C)
  const at::Tensor mask_tokens_out = hs.slice(1, 1, 1 + num_mask_tokens);  // (Bp, T, C)

  // (Bp, h*w, C) -> (Bp, C, h, w) -> upscale x4 -> (Bp, C/8, 4h, 4w)
  // Inference computes the two ConvTranspose2d (k=2, s=2) as GEMM + pixel_shuffle (faster on CPU);
  // when autograd records (training), SAM's modules run as they are.
  const at::Tensor src_map = src_out.transpose(1, 2).reshape({b, c, h, w});
  at::Tensor upscaled;
  if (at::GradMode::is_enabled()) {
    upscaled = output_upscaling->forward(src_map);
  } else {
    const auto up0 = output_upscaling[0]->as<torch::nn::ConvTranspose2d>();
    const auto up3 = output_upscaling[3]->as<torch::nn::ConvTranspose2d>();
    upscaled = conv_transpose2x2_stride2(src_map, up0->weight, up0->bias);
    upscaled = output_upscaling[1]->as<LayerNorm2d>()->forward(upscaled);
    upscaled = activate(Activation::kGELU, upscaled);
    upscaled = activate(Activation::kGELU, conv_transpose2x2_stride2(upscaled, up3->weight, up3->bias));
  }
  std::vector<at::Tensor> hyper;
  hyper.reserve(num_mask_tokens);
  for (int64_t i = 0; i < num_mask_tokens; ++i)
    hyper.push_back(output_hypernetworks_mlps[i]->as<MLP>()->forward(mask_tokens_out.select(1, i)));
  const at::Tensor hyper_in = at::stack(hyper, 1);  // (Bp, T, C/8)
  const int64_t uc = upscaled.size(1), uh = upscaled.size(2), uw = upscaled.size(3);
  const at::Tensor masks = at::matmul(hyper_in, upscaled.reshape({b, uc, uh * uw})).view({b, -1, uh, uw});
  const at::Tensor iou_pred = iou_prediction_head(iou_token_out);
  return {masks, iou_pred};
}

bool MaskDecoderImpl::fast_path_applies(const at::Tensor& image_embeddings, const at::Tensor& sparse) const {
  return use_fast_path && !at::GradMode::is_enabled() && image_embeddings.device().is_cpu() &&
         image_embeddings.scalar_type() == at::kFloat && sparse.scalar_type() == at::kFloat &&
         !compat::autocast_enabled(c10::DeviceType::CPU);
}

// ref: segment_anything/modeling/mask_decoder.py MaskDecoder.predict_masks (one prompt at a time, inference)
std::pair<at::Tensor, at::Tensor> MaskDecoderImpl::predict_masks_fast(const at::Tensor& image_embeddings,
                                                                      const at::Tensor& image_pe,
                                                                      const at::Tensor& sparse, const at::Tensor& dense,
                                                                      int64_t first_mask, int64_t last_mask) {
  const int64_t bp = sparse.size(0), bi = image_embeddings.size(0);
  check_batches(bi, bp);
  const int64_t h = image_embeddings.size(2), w = image_embeddings.size(3);
  const at::Tensor pe = token_major(image_pe[0]);  // (N, C)
  const at::Tensor output_tokens = at::cat({iou_token->weight, mask_tokens->weight}, 0);  // (1 + M, C)
  // No mask prompt: dense is one embedding broadcast over the prompts, so with one image the transformer's
  // input (and its + PE) is the same for every prompt: computed once.
  const bool dense_shared = dense.size(0) == 1 || dense.stride(0) == 0;
  at::Tensor shared_src, shared_src_pe;
  if (bi == 1 && dense_shared) {
    shared_src = token_major(image_embeddings[0] + dense[0]);
    shared_src_pe = shared_src + pe;
  }
  // Output rows the heads read: the IoU token, then the kept mask tokens.
  const at::Tensor out_tokens =
      at::cat({at::zeros({1}, at::kLong), at::arange(1 + first_mask, 1 + last_mask, at::kLong)}).to(sparse.device());
  at::Tensor masks = at::empty({bp, last_mask - first_mask, 4 * h, 4 * w}, image_embeddings.options());
  at::Tensor iou_pred = at::empty({bp, num_mask_tokens}, image_embeddings.options());
  for (int64_t b = 0; b < bp; ++b) {
    at::Tensor src = shared_src, src_pe = shared_src_pe;
    if (!src.defined()) {
      src = token_major(image_embeddings[bi == 1 ? 0 : b] + dense[dense_shared ? 0 : b]);
      src_pe = src + pe;
    }
    const at::Tensor tokens = at::cat({output_tokens, sparse[b]}, 0);  // (1 + M + Ns, C)
    auto [hs, keys] = transformer->forward_fast(src, src_pe, pe, tokens, out_tokens);
    iou_pred[b].copy_(iou_prediction_head(hs[0]));
    std::vector<at::Tensor> hyper;
    for (int64_t i = first_mask; i < last_mask; ++i)
      hyper.push_back(output_hypernetworks_mlps[i]->as<MLP>()->forward(hs[1 + i - first_mask]));
    masks[b].copy_(upscale_to_masks(keys, at::stack(hyper, 0), h, w));
  }
  return {masks, iou_pred};
}

// ref: segment_anything/modeling/mask_decoder.py MaskDecoder.predict_masks, output_upscaling and
// hyper_in @ upscaled, computed on token-major rows: each transposed convolution is a GEMM whose output
// rows are sub-pixels, so LayerNorm2d is a LayerNorm over contiguous rows and no pixel_shuffle is needed
// until the (T, 4h, 4w) masks. Rows are processed in chunks small enough to stay in cache.
at::Tensor MaskDecoderImpl::upscale_to_masks(const at::Tensor& keys, const at::Tensor& hyper, int64_t h, int64_t w) {
  const auto up0 = output_upscaling[0]->as<torch::nn::ConvTranspose2d>();
  const auto norm = output_upscaling[1]->as<LayerNorm2d>();
  const auto up3 = output_upscaling[3]->as<torch::nn::ConvTranspose2d>();
  const int64_t c1 = up0->weight.size(1), c2 = up3->weight.size(1), n = keys.size(0), t = hyper.size(0);
  const at::Tensor w1 = subpixel_weight(up0->weight), b1 = up0->bias.repeat(4);  // (C, 4*c1), (4*c1)
  const at::Tensor w2 = subpixel_weight(up3->weight), b2 = up3->bias.repeat(4);  // (c1, 4*c2), (4*c2)
  const at::Tensor hyper_t = hyper.t();                                          // (c2, T)
  // row ((i*w + j)*4 + s1)*4 + s2 of out is mask pixel (4i + 2*di1 + di2, 4j + 2*dj1 + dj2), s = 2*di + dj
  at::Tensor out = at::empty({n * 16, t}, keys.options());
  constexpr int64_t kRows = 512;
  for (int64_t r0 = 0; r0 < n; r0 += kRows) {
    const int64_t r1 = std::min(n, r0 + kRows);
    at::Tensor y1 = at::addmm(b1, keys.slice(0, r0, r1), w1).view({-1, c1});  // (rows*4, c1)
    y1 = at::layer_norm(y1, {c1}, norm->weight, norm->bias, norm->eps);
    at::gelu_(y1);
    at::Tensor y2 = at::addmm(b2, y1, w2).view({-1, c2});  // (rows*16, c2)
    at::gelu_(y2);
    at::Tensor out_rows = out.slice(0, r0 * 16, r1 * 16);
    if (t == 1) {  // MedSAM's single mask: a GEMV (measured 3x faster than the (rows, c2) x (c2, 1) GEMM)
      at::Tensor out_col = out_rows.view({-1});
      at::mv_out(out_col, y2, hyper_t.view({-1}));
    } else {
      at::mm_out(out_rows, y2, hyper_t);
    }
  }
  return out.view({h, w, 2, 2, 2, 2, t}).permute({6, 0, 2, 4, 1, 3, 5}).reshape({t, 4 * h, 4 * w});
}

}  // namespace medsam

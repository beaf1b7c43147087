#include "medsam/model/mask_decoder.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "medsam/core/error.h"

namespace medsam {

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
  auto [masks, iou_pred] = predict_masks(image_embeddings, image_pe, sparse, dense);
  const int64_t start = multimask_output ? 1 : 0;
  const int64_t stop = multimask_output ? num_mask_tokens : 1;
  return {masks.slice(1, start, stop), iou_pred.slice(1, start, stop)};
}

// ref: segment_anything/modeling/mask_decoder.py MaskDecoder.predict_masks (MedSAM's batching rule)
std::pair<at::Tensor, at::Tensor> MaskDecoderImpl::predict_masks(const at::Tensor& image_embeddings,
                                                                 const at::Tensor& image_pe, const at::Tensor& sparse,
                                                                 const at::Tensor& dense) {
  const int64_t bp = sparse.size(0);
  const int64_t bi = image_embeddings.size(0);
  if (bi != bp && bi != 1) {
    throw Error(fmt::format("mask decoder: {} image embeddings and {} prompts; give one prompt per image, or one "
                            "image with any number of prompts",
                            bi, bp));
  }
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

}  // namespace medsam

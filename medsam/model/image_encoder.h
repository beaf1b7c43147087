// ViT image encoder of SAM: (B, 3, S, S) image -> (B, out_chans, S/patch, S/patch) embedding.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>

#include "medsam/core/config_model.h"
#include "medsam/core/precision.h"
#include "medsam/model/attention.h"
#include "medsam/model/common.h"

namespace medsam {

// ref: segment_anything/modeling/image_encoder.py window_partition
// (B, H, W, C) -> zero-pad bottom/right to multiples of ws -> (B*nW, ws, ws, C); returns (Hp, Wp).
std::pair<at::Tensor, std::pair<int64_t, int64_t>> window_partition(const at::Tensor& x, int64_t ws);
// ref: segment_anything/modeling/image_encoder.py window_unpartition
// (B*nW, ws, ws, C) -> (B, Hp, Wp, C) -> crop to (B, H, W, C).
at::Tensor window_unpartition(const at::Tensor& windows, int64_t ws, std::pair<int64_t, int64_t> pad_hw,
                              std::pair<int64_t, int64_t> hw);

// The same two as one pass over memory each, for inference (they write into views: not for autograd).
// window_partition_one_pass(x, ws) equals window_partition(x, ws): every whole or partial block of windows
// is copied straight into place, and only the padding is zeroed (SAM pads, then permutes: two passes).
std::pair<at::Tensor, std::pair<int64_t, int64_t>> window_partition_one_pass(const at::Tensor& x, int64_t ws);
// x + window_unpartition(windows, ws, ..., x's H and W), the add reading each window block where it lies.
at::Tensor add_window_unpartition(const at::Tensor& x, const at::Tensor& windows, int64_t ws);

// ref: segment_anything/modeling/image_encoder.py PatchEmbed
// (B, C, S, S) -> conv k=stride=patch -> (B, S/p, S/p, embed_dim) (channels last).
struct PatchEmbedImpl : torch::nn::Module {
  PatchEmbedImpl(int64_t patch_size, int64_t in_chans, int64_t embed_dim);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);
// The patch embedding's conv (kernel = stride = p, no padding) as one GEMM over the image's patches: what
// PatchEmbed runs on CUDA. x (B, C, S, S), weight (E, C, p, p), bias (E) -> (B, S/p, S/p, E).
at::Tensor patch_embed_as_gemm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

// ref: segment_anything/modeling/image_encoder.py Block
// Pre-norm transformer block on (B, H, W, dim); window_size 0 = global attention.
struct BlockImpl : torch::nn::Module {
  BlockImpl(int64_t dim, int64_t num_heads, double mlp_ratio, bool qkv_bias, double norm_eps, bool use_rel_pos,
            int64_t window_size, std::pair<int64_t, int64_t> input_size);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::LayerNorm norm1{nullptr};
  EncoderAttention attn{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  MLPBlock mlp{nullptr};
  int64_t window_size;
};
TORCH_MODULE(Block);

// The blocks' residual stream in inference under autocast (bf16/fp16). kFloat32: fp32, as torch.autocast
// keeps it (LayerNorms in fp32, every residual add in fp32, a cast to bf16 before each linear layer).
// kReduced: in the autocast dtype, so the LayerNorms read and write bf16 (accumulating in fp32), the adds
// move half the bytes and the casts are gone; on CUDA lin1 and GELU become one GEMM (linear_gelu_rows).
// On an H200 those element-wise passes were ~15 of the ViT-B encoder's 64 ms per batch of 16 (bf16).
// Training (autograd on) always keeps fp32. `--precision bf16` runs kReduced, `bf16-autocast` kFloat32 (the
// Predictor sets it). Accuracy of each: tests/model/parity_test.cpp, docs/inference.md.
enum class ResidualStream { kFloat32, kReduced };
// The stream a precision asks for: bf16-autocast kFloat32, anything else kReduced (fp32 runs no autocast,
// so the setting does not apply). What the Predictor, the trainer's validation and the benches set.
inline ResidualStream residual_stream_for(Precision precision) {
  return precision == Precision::kBf16Autocast ? ResidualStream::kFloat32 : ResidualStream::kReduced;
}

// ref: segment_anything/modeling/image_encoder.py ImageEncoderViT
struct ImageEncoderViTImpl : torch::nn::Module {
  explicit ImageEncoderViTImpl(const ImageEncoderConfig& config);
  // x: (B, in_chans, img_size, img_size) -> (B, out_chans, img_size/patch, img_size/patch)
  at::Tensor forward(const at::Tensor& x);

  // Selects the attention implementation of every block (tests compare the two).
  void set_attention_path(AttentionPath path, int64_t chunk_elements = kDefaultAttentionChunkElements);
  // Whether forward() runs the blocks on the reduced stream now (inference_stream, autograd, autocast).
  bool runs_reduced_stream(c10::DeviceType device) const;

  ResidualStream inference_stream = ResidualStream::kReduced;

  ImageEncoderConfig config;
  PatchEmbed patch_embed{nullptr};
  at::Tensor pos_embed;  // (1, S/p, S/p, embed_dim)
  torch::nn::ModuleList blocks;
  torch::nn::Sequential neck;  // 0 conv1x1, 1 LayerNorm2d, 2 conv3x3, 3 LayerNorm2d
};
TORCH_MODULE(ImageEncoderViT);

}  // namespace medsam

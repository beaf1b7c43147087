// Building blocks shared by the SAM components: the transformer MLP block, the channel-wise
// LayerNorm of (B, C, H, W) maps, and the small ReLU MLP heads of the mask decoder.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace medsam {

enum class Activation { kGELU, kReLU };

// GELU is the exact (erf) form, as nn.GELU() defaults to.
at::Tensor activate(Activation act, const at::Tensor& x);

// lin(x) for x of any rank >= 2, computed on x flattened to (rows, in): at::linear then takes the
// addmm route (bias folded into the GEMM) instead of matmul + a separate broadcast bias add, which
// on the CPU in bf16 costs as much as a third of the GEMM. Same values as lin(x).
at::Tensor linear_rows(torch::nn::Linear& lin, const at::Tensor& x);

// GELU(lin(x)) on rows as ONE at::_addmm_activation call, in x's dtype (lin's weight and bias cast to it).
// On CUDA that is a cuBLASLt GEMM with a GELU epilogue: the (rows, out) activation is written once instead
// of being written, read and written again by a separate GELU. cuBLASLt's GELU is the tanh form (at most
// 4.7e-4 from the exact erf form SAM uses: below bf16's rounding step for |GELU| > 0.12); LibTorch's CPU
// kernel applies the exact form. The image encoder's bf16 inference path uses it on CUDA only.
at::Tensor linear_gelu_rows(torch::nn::Linear& lin, const at::Tensor& x);

// ln(x) computed in x's own dtype even under autocast (whose policy runs layer_norm in fp32 and returns
// fp32): for a bf16 x the kernel reads and writes bf16 and accumulates in fp32. ln's weight and bias are
// cast to x's dtype.
at::Tensor layer_norm_in_dtype(torch::nn::LayerNorm& ln, const at::Tensor& x);

// nn.ConvTranspose2d(kernel_size=2, stride=2) as a GEMM + pixel_shuffle: with kernel == stride the
// output 2x2 blocks do not overlap, so out[:, o, 2i+di, 2j+dj] = bias[o] + sum_c x[:, c, i, j] *
// weight[c, o, di, dj]. Faster than LibTorch's CPU transposed convolution on the mask decoder's
// shapes (docs/benchmarks.md); differentiable when autograd records. x (B, Cin, H, W), weight (Cin, Cout, 2, 2), bias (Cout) or undefined.
// ref: torch.nn.ConvTranspose2d.forward (as used by segment_anything MaskDecoder.output_upscaling)
at::Tensor conv_transpose2x2_stride2(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

// ref: segment_anything/modeling/common.py MLPBlock
// Linear(embedding_dim -> mlp_dim), activation, Linear(mlp_dim -> embedding_dim); any leading dims.
struct MLPBlockImpl : torch::nn::Module {
  MLPBlockImpl(int64_t embedding_dim, int64_t mlp_dim, Activation act);
  // With fuse_gelu, lin1 and GELU run as linear_gelu_rows (the caller decides when the tanh form is fine).
  at::Tensor forward(const at::Tensor& x, bool fuse_gelu = false);

  torch::nn::Linear lin1{nullptr};
  torch::nn::Linear lin2{nullptr};
  Activation act;
};
TORCH_MODULE(MLPBlock);

// ref: segment_anything/modeling/common.py LayerNorm2d
// Normalises (B, C, H, W) over C for every pixel (biased variance), then per-channel affine.
// Statistics are computed in fp32 when the input is fp16/bf16 (autocast).
struct LayerNorm2dImpl : torch::nn::Module {
  explicit LayerNorm2dImpl(int64_t num_channels, double eps = 1e-6);
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight;  // (C,), ones
  at::Tensor bias;    // (C,), zeros
  double eps;
};
TORCH_MODULE(LayerNorm2d);

// ref: segment_anything/modeling/mask_decoder.py MLP
// num_layers Linear layers (input -> hidden ... -> output) with ReLU between them; registered as
// layers.0 .. layers.<num_layers-1>.
struct MLPImpl : torch::nn::Module {
  MLPImpl(int64_t input_dim, int64_t hidden_dim, int64_t output_dim, int64_t num_layers,
          bool sigmoid_output = false);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::ModuleList layers;
  bool sigmoid_output;
};
TORCH_MODULE(MLP);

}  // namespace medsam

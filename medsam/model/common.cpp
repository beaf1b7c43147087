#include "medsam/model/common.h"

#include <torch/torch.h>

namespace medsam {

at::Tensor conv_transpose2x2_stride2(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  TORCH_CHECK(weight.dim() == 4 && weight.size(2) == 2 && weight.size(3) == 2,
              "conv_transpose2x2_stride2: weight must be (Cin, Cout, 2, 2), got ", weight.sizes());
  const int64_t B = x.size(0), Cin = x.size(1), H = x.size(2), W = x.size(3), Cout = weight.size(1);
  // (B, H*W, Cin) @ (Cin, Cout*4) -> (B, H, W, Cout, 2, 2) -> (B, Cout, H, 2, W, 2) -> (B, Cout, 2H, 2W)
  const at::Tensor cols = at::matmul(x.reshape({B, Cin, H * W}).transpose(1, 2), weight.reshape({Cin, Cout * 4}));
  at::Tensor out = cols.view({B, H, W, Cout, 2, 2}).permute({0, 3, 1, 4, 2, 5}).reshape({B, Cout, 2 * H, 2 * W});
  if (bias.defined()) out = out + bias.view({1, Cout, 1, 1});
  return out;
}

at::Tensor activate(Activation act, const at::Tensor& x) {
  return act == Activation::kGELU ? at::gelu(x) : at::relu(x);
}

// ref: segment_anything/modeling/common.py MLPBlock.__init__
MLPBlockImpl::MLPBlockImpl(int64_t embedding_dim, int64_t mlp_dim, Activation act_)
    : lin1(register_module("lin1", torch::nn::Linear(embedding_dim, mlp_dim))),
      lin2(register_module("lin2", torch::nn::Linear(mlp_dim, embedding_dim))),
      act(act_) {}

// ref: segment_anything/modeling/common.py MLPBlock.forward
at::Tensor MLPBlockImpl::forward(const at::Tensor& x) { return lin2(activate(act, lin1(x))); }

// ref: segment_anything/modeling/common.py LayerNorm2d.__init__
LayerNorm2dImpl::LayerNorm2dImpl(int64_t num_channels, double eps_)
    : weight(register_parameter("weight", torch::ones({num_channels}))),
      bias(register_parameter("bias", torch::zeros({num_channels}))),
      eps(eps_) {}

// ref: segment_anything/modeling/common.py LayerNorm2d.forward
at::Tensor LayerNorm2dImpl::forward(const at::Tensor& x) {
  const bool reduced = x.scalar_type() == at::kHalf || x.scalar_type() == at::kBFloat16;
  const at::Tensor xf = reduced ? x.to(at::kFloat) : x;
  const at::Tensor u = xf.mean(1, /*keepdim=*/true);  // (B, 1, H, W)
  const at::Tensor d = xf - u;
  const at::Tensor s = d.pow(2).mean(1, /*keepdim=*/true);
  at::Tensor y = d / (s + eps).sqrt();
  y = y * weight.to(y.scalar_type()).view({-1, 1, 1}) + bias.to(y.scalar_type()).view({-1, 1, 1});
  return reduced ? y.to(x.scalar_type()) : y;
}

// ref: segment_anything/modeling/mask_decoder.py MLP.__init__
MLPImpl::MLPImpl(int64_t input_dim, int64_t hidden_dim, int64_t output_dim, int64_t num_layers, bool sigmoid)
    : layers(register_module("layers", torch::nn::ModuleList())), sigmoid_output(sigmoid) {
  for (int64_t i = 0; i < num_layers; ++i) {
    const int64_t in = i == 0 ? input_dim : hidden_dim;
    const int64_t out = i == num_layers - 1 ? output_dim : hidden_dim;
    layers->push_back(torch::nn::Linear(in, out));
  }
}

// ref: segment_anything/modeling/mask_decoder.py MLP.forward
at::Tensor MLPImpl::forward(const at::Tensor& x) {
  at::Tensor h = x;
  const auto n = layers->size();
  for (size_t i = 0; i < n; ++i) {
    h = layers[i]->as<torch::nn::Linear>()->forward(h);
    if (i + 1 < n) h = at::relu(h);
  }
  return sigmoid_output ? at::sigmoid(h) : h;
}

}  // namespace medsam

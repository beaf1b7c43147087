#include "medsam/model/common.h"

#include <torch/torch.h>

namespace medsam {

at::Tensor conv_transpose2x2_stride2(const at::Tensor& x_in, const at::Tensor& weight, const at::Tensor& bias) {
  TORCH_CHECK(weight.dim() == 4 && weight.size(2) == 2 && weight.size(3) == 2,
              "conv_transpose2x2_stride2: weight must be (Cin, Cout, 2, 2), got ", weight.sizes());
  const at::Tensor x = x_in.contiguous();
  const int64_t B = x.size(0), Cin = x.size(1), H = x.size(2), W = x.size(3), Cout = weight.size(1);
  // weight (Cin, Cout, 2, 2) read as (Cin, Cout*4): column o*4 + di*2 + dj, which is exactly the
  // channel pixel_shuffle(2) sends to (o, 2i+di, 2j+dj). So: y = W^T x (a 1x1 conv to Cout*4
  // channels) then pixel_shuffle; the bias repeats over each output 2x2 block.
  const at::Tensor wt = weight.reshape({Cin, Cout * 4}).t();  // (Cout*4, Cin), a view
  const at::Tensor bias4 = bias.defined() ? bias.repeat_interleave(4).unsqueeze(1) : at::Tensor();  // (Cout*4, 1)
  const bool differentiable =
      at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
  at::Tensor y;
  if (differentiable) {
    y = at::matmul(wt, x.view({B, Cin, H * W}));
    if (bias.defined()) y = y + bias4;
  } else {
    // One plain 2-D GEMM per image written in place: at::matmul's batched broadcast of wt runs 2x
    // slower here (measured on the mask decoder's shapes).
    y = at::empty({B, Cout * 4, H * W}, x.options());
    for (int64_t b = 0; b < B; ++b) {
      at::Tensor yb = y.select(0, b);
      if (bias.defined()) {
        at::addmm_out(yb, bias4, wt, x.select(0, b).view({Cin, H * W}));
      } else {
        at::mm_out(yb, wt, x.select(0, b).view({Cin, H * W}));
      }
    }
  }
  return at::pixel_shuffle(y.view({B, Cout * 4, H, W}), 2);
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
at::Tensor MLPBlockImpl::forward(const at::Tensor& x, bool fuse_gelu) {
  if (fuse_gelu && act == Activation::kGELU) return linear_rows(lin2, linear_gelu_rows(lin1, x));
  return linear_rows(lin2, activate(act, linear_rows(lin1, x)));
}

at::Tensor linear_gelu_rows(torch::nn::Linear& lin, const at::Tensor& x) {
  TORCH_CHECK(lin->bias.defined(), "linear_gelu_rows: the linear layer has no bias");
  const auto dtype = x.scalar_type();
  const at::Tensor rows = x.reshape({-1, x.size(-1)});
  const at::Tensor y = at::_addmm_activation(lin->bias.to(dtype), rows, lin->weight.to(dtype).t(), /*beta=*/1,
                                             /*alpha=*/1, /*use_gelu=*/true);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = lin->weight.size(0);
  return y.view(shape);
}

at::Tensor layer_norm_in_dtype(torch::nn::LayerNorm& ln, const at::Tensor& x) {
  // Autocast would cast x to fp32 for layer_norm: step around it for this one call.
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  const auto dtype = x.scalar_type();
  const auto& o = ln->options;
  return at::layer_norm(x, o.normalized_shape(), ln->weight.to(dtype), ln->bias.to(dtype), o.eps());
}

at::Tensor linear_rows(torch::nn::Linear& lin, const at::Tensor& x) {
  if (x.dim() == 2) return lin(x);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = lin->weight.size(0);
  return lin(x.reshape({-1, x.size(-1)})).view(shape);
}

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

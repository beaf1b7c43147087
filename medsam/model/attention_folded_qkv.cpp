// The folded rel-pos attention (rel_pos_attention_folded) for inference, built straight from the qkv
// projection's output with as few passes over memory as the fold allows. Profiled on an H200 (ViT-B,
// bf16, batch 16): a third of the encoder's time went to copies (the qkv permute, the concatenations
// that build q' and k', the output permute), not to GEMMs or attention.
#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "medsam/core/build_config.h"
#include "medsam/model/attention.h"
#include "medsam/model/attention_internal.h"

#if MEDSAM_HAVE_CUDA_KERNELS
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "medsam/model/cuda/fold_qk.h"
#endif

namespace medsam {
namespace {

std::atomic<FoldKernel> g_fold_kernel{FoldKernel::kWarpPerToken};

// Whether fold_qk (medsam/model/cuda/fold_qk.cu) takes this fold: bf16 on CUDA, qkv as the linear layer
// wrote it. Everything else runs the ATen composition below.
bool fold_kernel_takes(const at::Tensor& qkv) {
  return fold_kernel_available() && g_fold_kernel.load() != FoldKernel::kOff && qkv.is_cuda() &&
         qkv.scalar_type() == at::kBFloat16 && qkv.is_contiguous();
}

// q' and k' of the fold by the kernel, into the (B, N, heads, Dp) buffers qf_rows and kf_rows.
void fold_qk_with_kernel(const at::Tensor& qkv, const at::Tensor& Rh, const at::Tensor& Rw, const at::Tensor& qf_rows,
                         const at::Tensor& kf_rows, int64_t num_heads, std::pair<int64_t, int64_t> hw, double scale) {
#if MEDSAM_HAVE_CUDA_KERNELS
  const auto [H, W] = hw;
  const int64_t C = qkv.size(2) / 3 / num_heads, Dp = qf_rows.size(-1);
  // The kernel reads the tables as (row, C, key): lanes then read consecutive keys.
  const at::Tensor rel_h_t = Rh.to(at::kFloat).transpose(1, 2).contiguous();  // (H, C, H)
  const at::Tensor rel_w_t = Rw.to(at::kFloat).transpose(1, 2).contiguous();  // (W, C, W)
  const c10::cuda::CUDAGuard device_guard(qkv.device());
  const char* error = cuda_kernels::fold_qk_bf16(
      static_cast<const std::uint16_t*>(qkv.data_ptr()), rel_h_t.data_ptr<float>(), rel_w_t.data_ptr<float>(),
      static_cast<std::uint16_t*>(qf_rows.data_ptr()), static_cast<std::uint16_t*>(kf_rows.data_ptr()),
      qkv.size(0) * H * W, static_cast<int>(H), static_cast<int>(W), static_cast<int>(num_heads),
      static_cast<int>(C), static_cast<int>(Dp), static_cast<float>(scale),
      g_fold_kernel.load() == FoldKernel::kWarpPerPair ? cuda_kernels::FoldSchedule::kWarpPerPair
                                                       : cuda_kernels::FoldSchedule::kWarpPerToken,
      c10::cuda::getCurrentCUDAStream(qkv.device().index()).stream());
  TORCH_CHECK(error == nullptr, "fold_qk_bf16 (medsam/model/cuda/fold_qk.cu): ", error);
#else
  (void)qkv, (void)Rh, (void)Rw, (void)qf_rows, (void)kf_rows, (void)num_heads, (void)hw, (void)scale;
  TORCH_CHECK(false, "fold_qk_with_kernel: this build has no CUDA kernels");
#endif
}

}  // namespace

bool fold_kernel_available() { return MEDSAM_HAVE_CUDA_KERNELS != 0; }
void set_fold_kernel(FoldKernel kernel) { g_fold_kernel.store(kernel); }

const std::vector<std::string>& fold_kernel_names() {
  static const std::vector<std::string> names = {"off", "pair", "token"};  // FoldKernel's order
  return names;
}

FoldKernel parse_fold_kernel(const std::string& name) {
  const auto& names = fold_kernel_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<FoldKernel>(i);
  throw std::invalid_argument("unknown fold kernel '" + name + "' (choices: off, pair, token)");
}

// ref: segment_anything/modeling/image_encoder.py Attention.forward + add_decomposed_rel_pos
at::Tensor rel_pos_attention_folded_qkv(const at::Tensor& qkv, int64_t num_heads, const at::Tensor& rel_pos_h,
                                        const at::Tensor& rel_pos_w, std::pair<int64_t, int64_t> hw, double scale) {
  const auto [H, W] = hw;
  TORCH_CHECK(qkv.dim() == 3 && qkv.size(1) == H * W && qkv.size(2) % (3 * num_heads) == 0,
              "rel_pos_attention_folded_qkv: qkv ", qkv.sizes(), " is not (B, ", H, "*", W, ", 3*heads*C) for ",
              num_heads, " heads");
  TORCH_CHECK(!(at::GradMode::is_enabled() && qkv.requires_grad()),
              "rel_pos_attention_folded_qkv is for inference (it writes into buffers autograd cannot follow); "
              "use rel_pos_attention_folded under autograd");
  const int64_t B = qkv.size(0), N = H * W, dim = qkv.size(2) / 3, C = dim / num_heads;
  // q, k, v as (B, heads, N, C) views of qkv's (B, N, 3, heads, C) layout: no copy.
  const at::Tensor parts = qkv.view({B, N, 3, num_heads, C});
  const at::Tensor q = parts.select(2, 0).transpose(1, 2), k = parts.select(2, 1).transpose(1, 2),
                   v = parts.select(2, 2).transpose(1, 2);
  // The fused kernels write their output (B, N, heads, C) in memory, so back to tokens is a view.
  const auto to_tokens = [&](const at::Tensor& o) { return o.narrow(-1, 0, C).transpose(1, 2).reshape({B, N, dim}); };
  if (!rel_pos_h.defined()) return to_tokens(detail::sdpa(q, k, v, {}, scale));

  // q' = [scale q | rel_h | rel_w | 0], k' = [k | one-hot key row | one-hot key column | 0], each written
  // once into a (B, N, heads, Dp) buffer seen as (B, heads, N, Dp) (the layout the kernels read fastest).
  const int64_t D = C + H + W, Dp = detail::round_up_to_8(D);
  const auto opts = qkv.options();
  const at::Tensor qf_rows = at::empty({B, N, num_heads, Dp}, opts), kf_rows = at::empty({B, N, num_heads, Dp}, opts);
  const at::Tensor qf = qf_rows.transpose(1, 2), kf = kf_rows.transpose(1, 2);
  const at::Tensor Rh = get_rel_pos(H, H, rel_pos_h);  // (H, H, C)
  const at::Tensor Rw = get_rel_pos(W, W, rel_pos_w);  // (W, W, C)
  if (fold_kernel_takes(qkv)) {
    fold_qk_with_kernel(qkv, Rh, Rw, qf_rows, kf_rows, num_heads, hw, scale);
  } else {
    at::Tensor q_part = qf.narrow(-1, 0, C);
    at::mul_out(q_part, q, at::scalar_tensor(scale, at::kFloat));  // a CPU scalar: scale applied in fp32
    const at::Tensor q5 = q.reshape({B, num_heads, H, W, C});      // a view
    qf.narrow(-1, C, H).view({B, num_heads, H, W, H}).copy_(
        at::einsum("bnhwc,hkc->bnhwk", {q5, Rh.to(qkv.scalar_type())}));
    qf.narrow(-1, C + H, W).view({B, num_heads, H, W, W}).copy_(
        at::einsum("bnhwc,wkc->bnhwk", {q5, Rw.to(qkv.scalar_type())}));
    if (Dp > D) qf.narrow(-1, D, Dp - D).zero_();

    kf.narrow(-1, 0, C).copy_(k);
    // The same one-hot key rows/columns for every batch entry and head.
    kf.narrow(-1, C, Dp - C).copy_(detail::one_hot_key_grid(H, W, Dp - C, opts).expand({B, num_heads, N, Dp - C}));
  }

  // v at its own head dim where a fused kernel takes it (see FoldedValueDim::kOwnWhereFused), else padded.
  const auto v_of_dim = [&](int64_t width) {
    if (width == C) return v;
    const at::Tensor padded = at::zeros({B, N, num_heads, width}, opts).transpose(1, 2);
    padded.narrow(-1, 0, C).copy_(v);
    return padded;
  };
  at::Tensor vf = v_of_dim(detail::round_up_to_8(C));
  if (!detail::fused_sdpa_takes(qf, kf, vf)) vf = v_of_dim(Dp);
  return to_tokens(detail::sdpa(qf, kf, vf, {}, /*scale=*/1.0));
}

}  // namespace medsam

// Multi-head self-attention of the ViT image encoder with SAM's decomposed relative position
// terms, in two implementations: the reference (SAM's formula, materialises every intermediate)
// and the fast one (DESIGN.md decision 2) that the encoder uses by default.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace medsam {

enum class AttentionPath {
  kReference,  // SAM's code: full logits + 5-D broadcast add of rel-pos terms; obviously correct
  kFast,       // rel-pos bias fused into the logits, query rows in chunks (or SDPA on CUDA); differentiable
  kChunks,     // kFast's own chunks (GEMM, softmax, GEMM) on every device: never SDPA
  kFolded,     // rel_pos_attention_folded (one SDPA call) for every dtype, fp32 too, v padded to q's head dim
  kFoldedNarrowV,  // kFolded with v at its own head dim: not for flash (one head dim for all), for the
                   // kernels that take a narrower v (cuDNN on Hopper, memory-efficient): a third less work
};
// "fast", "reference", "chunks", "folded", "folded-narrow-v" (the names of `medsam bench --attention`, in
// that order); throws std::invalid_argument listing them otherwise.
AttentionPath parse_attention_path(const std::string& name);
std::vector<std::string> attention_path_names();

// Fast path working-set bound: a chunk holds at most this many logits (fp32: 4 bytes each). 2^21
// (8 MiB) was the fastest of 2^18..2^23 for the ViT-B encoder on the 2-core machine (docs/benchmarks.md).
inline constexpr int64_t kDefaultAttentionChunkElements = int64_t{1} << 21;

// ref: segment_anything/modeling/image_encoder.py get_rel_pos
// rel_pos: (L, C) table; returns (q_size, k_size, C) with R[i, j] = table[i - j + k_size - 1] (for
// equal sizes), the table being linearly resized to 2*max(q_size, k_size)-1 rows when L differs.
at::Tensor get_rel_pos(int64_t q_size, int64_t k_size, const at::Tensor& rel_pos);
// The resize inside get_rel_pos: an (L, C) table linearly interpolated (align_corners false) to (length, C).
at::Tensor resize_rel_pos_table(const at::Tensor& rel_pos, int64_t length);

// Attention with decomposed relative position bias. q, k, v: (BH, Hq*Wq, C) / (BH, Hk*Wk, C),
// row-major over the (H, W) grid; q is UNscaled (the rel-pos terms use it as is). rel_pos_h/_w:
// tables of the module, or undefined tensors for plain attention. Returns (BH, Hq*Wq, C).
// ref: segment_anything/modeling/image_encoder.py Attention.forward + add_decomposed_rel_pos
at::Tensor rel_pos_attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                       const at::Tensor& rel_pos_h, const at::Tensor& rel_pos_w,
                                       std::pair<int64_t, int64_t> q_hw, std::pair<int64_t, int64_t> k_hw,
                                       double scale);
at::Tensor rel_pos_attention_fast(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const at::Tensor& rel_pos_h, const at::Tensor& rel_pos_w,
                                  std::pair<int64_t, int64_t> q_hw, std::pair<int64_t, int64_t> k_hw, double scale,
                                  int64_t chunk_elements = kDefaultAttentionChunkElements, bool allow_sdpa = true);

// The same attention as one scaled_dot_product_attention call, the rel-pos terms folded into q and
// k (one-hot key rows/columns) so the fused kernels, which take no bias, compute SAM's logits.
// What the fast path runs on CUDA with LibTorch 2.x; on 1.13 it is the plain composition.
// The head dim v gets in the folded call: q's (kPadded: what the flash kernel needs, one head dim for
// q, k and v), its own (kOwn, padded to a multiple of 8 only: a third less work in a ViT-B global block,
// for the kernels that take a narrower v: cuDNN on Hopper, memory-efficient), or its own wherever SDPA
// has a fused kernel for that shape and q's otherwise (kOwnWhereFused: what the fast path uses).
enum class FoldedValueDim { kPadded, kOwn, kOwnWhereFused };
at::Tensor rel_pos_attention_folded(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const at::Tensor& rel_pos_h, const at::Tensor& rel_pos_w,
                                    std::pair<int64_t, int64_t> q_hw, std::pair<int64_t, int64_t> k_hw,
                                    double scale, FoldedValueDim value_dim = FoldedValueDim::kPadded);

// rel_pos_attention_folded for inference, from the qkv projection's output qkv (B, H*W, 3*heads*C) as it
// comes out of the linear layer: q, k, v are read in place and q', k' are written once, with no permute
// copies before or after the SDPA call. Returns (B, H*W, heads*C), the rows the output projection takes.
// What the fast path runs on CUDA in bf16/fp16 when autograd is off; throws if qkv requires a gradient.
at::Tensor rel_pos_attention_folded_qkv(const at::Tensor& qkv, int64_t num_heads, const at::Tensor& rel_pos_h,
                                        const at::Tensor& rel_pos_w, std::pair<int64_t, int64_t> hw, double scale);

// The fold of rel_pos_attention_folded_qkv by one hand-written CUDA kernel (medsam/model/cuda/fold_qk.cu) for
// bf16 on CUDA: q', k' written in one pass instead of ~7 ATen passes. Available in builds with
// MEDSAM_HAVE_CUDA_KERNELS (a CUDA LibTorch and nvcc). Two schedules of the same arithmetic: a warp per
// token (the default: reads the rel-pos tables a quarter as often) or a warp per (token, head) pair; kOff
// folds by ATen ops. Switchable for A/B runs and tests (the process-wide switch is read at every call).
enum class FoldKernel { kOff, kWarpPerPair, kWarpPerToken };
bool fold_kernel_available();
void set_fold_kernel(FoldKernel kernel);
// "off", "pair", "token": the names the benches take (--fold-kernel); parse throws, naming the choices.
const std::vector<std::string>& fold_kernel_names();
FoldKernel parse_fold_kernel(const std::string& name);

// Which kernel each distinct scaled_dot_product_attention call made by the functions above went to,
// one line per call shape ("q 1x192x4096x192 k ... v ... bf16, no mask: flash"), recorded between these
// two calls; the benches print it after a CUDA run. Not recording costs one atomic load per call.
void start_recording_sdpa_kernels();
std::vector<std::string> stop_recording_sdpa_kernels();

// ref: segment_anything/modeling/image_encoder.py Attention
// x: (B, H, W, dim) -> (B, H, W, dim). Parameters qkv, proj, rel_pos_h, rel_pos_w (SAM's names).
struct EncoderAttentionImpl : torch::nn::Module {
  // input_size: the token grid the rel-pos tables are sized for (window, or the full grid).
  EncoderAttentionImpl(int64_t dim, int64_t num_heads, bool qkv_bias, bool use_rel_pos,
                       std::pair<int64_t, int64_t> input_size);
  at::Tensor forward(const at::Tensor& x);

  int64_t num_heads;
  double scale;
  bool use_rel_pos;
  AttentionPath path = AttentionPath::kFast;
  int64_t chunk_elements = kDefaultAttentionChunkElements;
  torch::nn::Linear qkv{nullptr};
  torch::nn::Linear proj{nullptr};
  at::Tensor rel_pos_h;  // (2*input_size.h - 1, head_dim)
  at::Tensor rel_pos_w;  // (2*input_size.w - 1, head_dim)
};
TORCH_MODULE(EncoderAttention);

}  // namespace medsam

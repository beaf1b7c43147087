// The fold of rel_pos_attention_folded_qkv in one kernel (see fold_qk.h). What it replaces, profiled on an
// H200 (ViT-B, bf16, batch 16): the q scale copy, the k copy, the one-hot fill and the two rel-pos einsums
// with their permute copies, ~12 of the encoder's 64 ms per batch, all of it memory traffic.
//
// One warp per (token, head): the warp reads the head's q and k once (q into shared memory as fp32), each
// lane computes the rel-pos terms j = lane, lane + 32, ... as dot products with the transposed tables (lanes
// read consecutive j: coalesced), and every row of q' and k' is written by consecutive lanes.
// The per-pair work is in fold_qk_body.h, which the CPU tests run too. Only CUDA intrinsics every nvcc has;
// bf16 is handled as raw 16-bit patterns (no cuda_bf16.h needed).
#include <cuda_runtime.h>

#include <cstdint>

#include "medsam/model/cuda/fold_qk.h"
#include "medsam/model/cuda/fold_qk_body.h"

namespace medsam::cuda_kernels {
namespace {

constexpr int kWarpsPerBlock = 8;

// ref: segment_anything/modeling/image_encoder.py add_decomposed_rel_pos (rel_h, rel_w), folded into q and k
__global__ void fold_qk_bf16_kernel(const std::uint16_t* __restrict__ qkv, const float* __restrict__ rel_h_t,
                                    const float* __restrict__ rel_w_t, std::uint16_t* __restrict__ q_fold,
                                    std::uint16_t* __restrict__ k_fold, fold::FoldShape shape) {
  extern __shared__ float q_shared[];  // kWarpsPerBlock rows of head_dim
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const std::int64_t pair = static_cast<std::int64_t>(blockIdx.x) * kWarpsPerBlock + warp;
  if (pair >= shape.pairs) return;  // the whole warp: pair depends on the warp only
  float* q_row = q_shared + warp * shape.head_dim;
  fold::fold_head_parts(qkv, q_fold, k_fold, q_row, shape, pair, lane, 32);
  __syncwarp();
  fold::fold_rel_parts(rel_h_t, rel_w_t, q_fold, k_fold, q_row, shape, pair, lane, 32);
}

}  // namespace

const char* fold_qk_bf16(const std::uint16_t* qkv, const float* rel_h_t, const float* rel_w_t, std::uint16_t* q_fold,
                         std::uint16_t* k_fold, std::int64_t tokens, int grid_h, int grid_w, int heads, int head_dim,
                         int folded_dim, float scale, void* stream) {
  if (const char* error = fold::fold_shape_error(tokens, grid_h, grid_w, heads, head_dim, folded_dim)) return error;
  const std::int64_t pairs = tokens * heads;
  if (pairs == 0) return nullptr;
  const std::int64_t blocks = (pairs + kWarpsPerBlock - 1) / kWarpsPerBlock;
  if (blocks > 0x7fffffff) return "fold_qk_bf16: too many tokens for one launch";
  const size_t shared_bytes = sizeof(float) * kWarpsPerBlock * static_cast<size_t>(head_dim);
  const fold::FoldShape shape{pairs, grid_h, grid_w, heads, head_dim, folded_dim, scale};
  fold_qk_bf16_kernel<<<static_cast<unsigned>(blocks), kWarpsPerBlock * 32, shared_bytes,
                        static_cast<cudaStream_t>(stream)>>>(qkv, rel_h_t, rel_w_t, q_fold, k_fold, shape);
  const cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? nullptr : cudaGetErrorString(err);
}

}  // namespace medsam::cuda_kernels

// The fold of rel_pos_attention_folded_qkv in one kernel (see fold_qk.h). What it replaces, profiled on an
// H200 (ViT-B, bf16, batch 16): the q scale copy, the k copy, the one-hot fill and the two rel-pos einsums
// with their permute copies, ~12 of the encoder's 64 ms per batch, all of it memory traffic.
//
// Two schedules (FoldSchedule). A warp per (token, head): the warp reads the head's q and k once (q into
// shared memory as fp32), each lane computes the rel-pos terms j = lane, lane + 32, ... as dot products with
// the transposed tables (lanes read consecutive j: coalesced), and every row of q' and k' is written by
// consecutive lanes. A warp per token: the same for all the token's heads at once, each lane summing four
// heads per pass over the table column, so the tables (the kernel's main traffic) are read a quarter as
// often; its shared memory is all heads' q of each of the block's tokens.
// The per-warp work is in fold_qk_body.h, which the CPU tests run too. Only CUDA intrinsics every nvcc has;
// bf16 is handled as raw 16-bit patterns (no cuda_bf16.h needed).
#include <cuda_runtime.h>

#include <cstddef>
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

// ref: segment_anything/modeling/image_encoder.py add_decomposed_rel_pos (rel_h, rel_w), folded into q and k
__global__ void fold_qk_bf16_token_kernel(const std::uint16_t* __restrict__ qkv, const float* __restrict__ rel_h_t,
                                          const float* __restrict__ rel_w_t, std::uint16_t* __restrict__ q_fold,
                                          std::uint16_t* __restrict__ k_fold, fold::FoldShape shape, int warps_per_block) {
  extern __shared__ float q_scratch[];  // warps_per_block blocks of token_scratch_floats
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const std::int64_t token = static_cast<std::int64_t>(blockIdx.x) * warps_per_block + warp;
  if (token * shape.heads >= shape.pairs) return;  // the whole warp
  float* q_t = q_scratch + warp * fold::token_scratch_floats(shape.heads, shape.head_dim);
  fold::fold_token_head_parts(qkv, q_fold, k_fold, q_t, shape, token, lane, 32);
  __syncwarp();
  fold::fold_token_rel_parts(rel_h_t, rel_w_t, q_fold, k_fold, q_t, shape, token, lane, 32);
}

// A kernel launch's dynamic shared memory without opting in to more (every GPU since Kepler has this).
constexpr size_t kSharedBytesDefault = 48 * 1024;

const char* launch_by_token(const std::uint16_t* qkv, const float* rel_h_t, const float* rel_w_t, std::uint16_t* q_fold,
                            std::uint16_t* k_fold, const fold::FoldShape& shape, std::int64_t tokens,
                            cudaStream_t stream) {
  const size_t warp_bytes = sizeof(float) * static_cast<size_t>(fold::token_scratch_floats(shape.heads, shape.head_dim));
  if (warp_bytes > kSharedBytesDefault)
    return "fold_qk_bf16: heads * head_dim too large for the warp-per-token schedule (use the pair schedule)";
  const size_t fit = kSharedBytesDefault / warp_bytes;
  const int warps = fit < static_cast<size_t>(kWarpsPerBlock) ? static_cast<int>(fit) : kWarpsPerBlock;
  const std::int64_t blocks = (tokens + warps - 1) / warps;
  if (blocks > 0x7fffffff) return "fold_qk_bf16: too many tokens for one launch";
  fold_qk_bf16_token_kernel<<<static_cast<unsigned>(blocks), warps * 32, warp_bytes * warps, stream>>>(
      qkv, rel_h_t, rel_w_t, q_fold, k_fold, shape, warps);
  return nullptr;
}

}  // namespace

const char* fold_qk_bf16(const std::uint16_t* qkv, const float* rel_h_t, const float* rel_w_t, std::uint16_t* q_fold,
                         std::uint16_t* k_fold, std::int64_t tokens, int grid_h, int grid_w, int heads, int head_dim,
                         int folded_dim, float scale, FoldSchedule schedule, void* stream) {
  if (const char* error = fold::fold_shape_error(tokens, grid_h, grid_w, heads, head_dim, folded_dim)) return error;
  const std::int64_t pairs = tokens * heads;
  if (pairs == 0) return nullptr;
  const fold::FoldShape shape{pairs, grid_h, grid_w, heads, head_dim, folded_dim, scale};
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  if (schedule == FoldSchedule::kWarpPerToken) {
    if (const char* error = launch_by_token(qkv, rel_h_t, rel_w_t, q_fold, k_fold, shape, tokens, cuda_stream))
      return error;
  } else {
    const std::int64_t blocks = (pairs + kWarpsPerBlock - 1) / kWarpsPerBlock;
    if (blocks > 0x7fffffff) return "fold_qk_bf16: too many tokens for one launch";
    const size_t shared_bytes = sizeof(float) * kWarpsPerBlock * static_cast<size_t>(head_dim);
    fold_qk_bf16_kernel<<<static_cast<unsigned>(blocks), kWarpsPerBlock * 32, shared_bytes, cuda_stream>>>(
        qkv, rel_h_t, rel_w_t, q_fold, k_fold, shape);
  }
  const cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? nullptr : cudaGetErrorString(err);
}

}  // namespace medsam::cuda_kernels

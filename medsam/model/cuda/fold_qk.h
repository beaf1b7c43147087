// Hand-written CUDA kernel of the folded rel-pos attention (medsam/model/attention_folded_qkv.cpp): q' and k'
// of the fold written in one pass from the qkv projection's output. Compiled by nvcc into
// medsam_cuda_kernels when the LibTorch has CUDA and a CUDA compiler is found (MEDSAM_HAVE_CUDA_KERNELS in
// medsam/core/build_config.h); this header is plain C++ (no CUDA or LibTorch types) so that the library
// side, compiled by the host compiler against LibTorch, and the kernel side share nothing but integers.
#pragma once

#include <cstdint>

namespace medsam::cuda_kernels {

// How the kernel shares the work out: a warp per (token, head) pair, or a warp per token with all its heads
// (which reads the rel-pos tables a quarter as often; fold_qk_body.h).
enum class FoldSchedule { kWarpPerPair, kWarpPerToken };

// For every token t of `tokens` (= batch * H * W, row-major over the H x W grid of each batch entry) and
// head h, with q, k the head's C values in qkv's row t, laid out (3, heads, C) as the qkv linear layer
// writes them (row length 3 * heads * C):
//   q_fold[t, h] = [scale * q | rel_h (H) | rel_w (W) | 0 ...]   rel_h[j] = sum_c q[c] * rel_h_t[y, c, j]
//   k_fold[t, h] = [k | one-hot(y) (H) | one-hot(x) (W) | 0 ...]  rel_w[j] = sum_c q[c] * rel_w_t[x, c, j]
// where (y, x) is t's cell of the grid, rel_h_t (H, C, H) and rel_w_t (W, C, W) are SAM's get_rel_pos
// tables transposed, in fp32, and q_fold, k_fold are (tokens, heads, folded_dim) buffers. All bf16 (the
// raw 16-bit patterns), accumulation in fp32. Requires C + H + W <= folded_dim. `stream` is a
// cudaStream_t. Returns nullptr, or what is wrong (a shape it does not take, the CUDA error of the launch).
const char* fold_qk_bf16(const std::uint16_t* qkv, const float* rel_h_t, const float* rel_w_t, std::uint16_t* q_fold,
                         std::uint16_t* k_fold, std::int64_t tokens, int grid_h, int grid_w, int heads, int head_dim,
                         int folded_dim, float scale, FoldSchedule schedule, void* stream);

// The same computation on the CPU, warp by warp with 32 emulated lanes, by the very code the kernel runs for
// `schedule` (fold_qk_body.h): what the CPU tests check the kernel's arithmetic with. Host memory.
void fold_qk_bf16_reference(const std::uint16_t* qkv, const float* rel_h_t, const float* rel_w_t,
                            std::uint16_t* q_fold, std::uint16_t* k_fold, std::int64_t tokens, int grid_h, int grid_w,
                            int heads, int head_dim, int folded_dim, float scale, FoldSchedule schedule);

}  // namespace medsam::cuda_kernels

// The work of the fold kernel (fold_qk.cu) for one (token, head) pair, split at the kernel's one warp
// barrier, as functions both nvcc (device code) and the host compiler (tests) compile: the CPU tests run
// exactly this code over every pair (fold_qk_reference in fold_qk.h) and check it against the fold's
// definition, so the index arithmetic is tested on machines without a GPU. Plain C++ otherwise.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__) || defined(__CUDA__)
#define MEDSAM_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define MEDSAM_HOST_DEVICE inline
#endif

namespace medsam::cuda_kernels::fold {

constexpr std::uint16_t kBf16One = 0x3f80;

MEDSAM_HOST_DEVICE float bf16_to_float(std::uint16_t bits) {
  const std::uint32_t u = static_cast<std::uint32_t>(bits) << 16;
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

// Round to nearest even, as c10::BFloat16 does; NaN stays a (quiet) NaN.
MEDSAM_HOST_DEVICE std::uint16_t float_to_bf16(float value) {
#ifdef __CUDA_ARCH__
  std::uint32_t u = __float_as_uint(value);
#else
  std::uint32_t u;
  std::memcpy(&u, &value, sizeof u);
#endif
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0u) return 0x7fc0;
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

// The sizes of one fold call (see fold_qk_bf16 in fold_qk.h).
struct FoldShape {
  std::int64_t pairs;  // tokens * heads
  int grid_h, grid_w, heads, head_dim, folded_dim;
  float scale;
};

// The sizes a fold call accepts, checked once for the launcher and the CPU reference alike: nullptr, or
// what is wrong. Host code.
inline const char* fold_shape_error(std::int64_t tokens, int grid_h, int grid_w, int heads, int head_dim,
                                    int folded_dim) {
  if (tokens < 0 || grid_h <= 0 || grid_w <= 0 || heads <= 0 || head_dim <= 0)
    return "fold_qk_bf16: tokens must be >= 0 and grid, heads and head_dim > 0";
  if (head_dim + grid_h + grid_w > folded_dim) return "fold_qk_bf16: head_dim + grid_h + grid_w exceeds folded_dim";
  return nullptr;
}

// The grid cell (y, x) of the token of `pair`.
MEDSAM_HOST_DEVICE void cell_of(const FoldShape& s, std::int64_t pair, int& y, int& x) {
  const std::int64_t token = pair / s.heads;
  const int cell = static_cast<int>(token % (static_cast<std::int64_t>(s.grid_h) * s.grid_w));
  y = cell / s.grid_w;
  x = cell % s.grid_w;
}

// Before the barrier, lane `lane` of `lanes`: its share of the head's q into q_row (fp32), of scale * q into
// q', of k into k'.
MEDSAM_HOST_DEVICE void fold_head_parts(const std::uint16_t* qkv, std::uint16_t* q_fold, std::uint16_t* k_fold,
                                        float* q_row, const FoldShape& s, std::int64_t pair, int lane, int lanes) {
  const std::int64_t token = pair / s.heads;
  const int head = static_cast<int>(pair % s.heads);
  const int C = s.head_dim;
  const std::uint16_t* q = qkv + token * 3 * s.heads * C + static_cast<std::int64_t>(head) * C;
  const std::uint16_t* k = q + static_cast<std::int64_t>(s.heads) * C;
  std::uint16_t* q_out = q_fold + pair * s.folded_dim;
  std::uint16_t* k_out = k_fold + pair * s.folded_dim;
  for (int c = lane; c < C; c += lanes) {
    const float value = bf16_to_float(q[c]);
    q_row[c] = value;
    q_out[c] = float_to_bf16(value * s.scale);
    k_out[c] = k[c];
  }
}

// After the barrier (every lane's q_row entries written): lane `lane`'s share of the rel-pos terms
// (rel_h[j] = sum_c q[c] * rel_h_t[y, c, j], likewise rel_w with x), the one-hot key row and column, and the
// zero padding up to folded_dim.
MEDSAM_HOST_DEVICE void fold_rel_parts(const float* rel_h_t, const float* rel_w_t, std::uint16_t* q_fold,
                                       std::uint16_t* k_fold, const float* q_row, const FoldShape& s,
                                       std::int64_t pair, int lane, int lanes) {
  int y = 0, x = 0;
  cell_of(s, pair, y, x);
  const int C = s.head_dim, H = s.grid_h, W = s.grid_w;
  std::uint16_t* q_out = q_fold + pair * s.folded_dim;
  std::uint16_t* k_out = k_fold + pair * s.folded_dim;
  const float* table_h = rel_h_t + static_cast<std::int64_t>(y) * C * H;  // (C, H) of row y
  for (int j = lane; j < H; j += lanes) {
    float acc = 0.f;
    for (int c = 0; c < C; ++c) acc += q_row[c] * table_h[c * H + j];
    q_out[C + j] = float_to_bf16(acc);
    k_out[C + j] = j == y ? kBf16One : 0;
  }
  const float* table_w = rel_w_t + static_cast<std::int64_t>(x) * C * W;  // (C, W) of column x
  for (int j = lane; j < W; j += lanes) {
    float acc = 0.f;
    for (int c = 0; c < C; ++c) acc += q_row[c] * table_w[c * W + j];
    q_out[C + H + j] = float_to_bf16(acc);
    k_out[C + H + j] = j == x ? kBf16One : 0;
  }
  for (int j = C + H + W + lane; j < s.folded_dim; j += lanes) {
    q_out[j] = 0;
    k_out[j] = 0;
  }
}

}  // namespace medsam::cuda_kernels::fold

// The work of the fold kernels (fold_qk.cu), one warp's share split at the kernel's one warp barrier, as
// functions both nvcc (device code) and the host compiler (tests) compile: the CPU tests run exactly this
// code with 32 emulated lanes (fold_qk_bf16_reference in fold_qk.h) and check it against the fold's
// definition, so the index arithmetic is tested on machines without a GPU. Plain C++ otherwise.
// Two schedules: a warp per (token, head) pair (fold_head_parts, fold_rel_parts) and a warp per token, all
// its heads (fold_token_head_parts, fold_token_rel_parts).
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

// ---- A warp per token ----
// The pair schedule reads the token's two rel-pos table slices, (C, H) and (C, W) in fp32 (32 KB for ViT-B's
// global attention), once per head. This one reads them once per kHeadChunk heads: each lane keeps
// kHeadChunk sums in registers while it walks c. 4 divides SAM's 12 and 16 heads.
constexpr int kHeadChunk = 4;

MEDSAM_HOST_DEVICE int padded_heads(int heads) { return (heads + kHeadChunk - 1) / kHeadChunk * kHeadChunk; }

// Floats of the per-token scratch: all heads' q, transposed to (C, padded_heads) so that a chunk's heads at one
// c are adjacent, the padding heads zero.
MEDSAM_HOST_DEVICE int token_scratch_floats(int heads, int head_dim) { return padded_heads(heads) * head_dim; }

// Before the barrier, lane `lane` of `lanes`: its share of the token's q (every head) into q_t (fp32,
// transposed), of scale * q into q', of k into k'. The token's q of all heads is the first heads * C values
// of its qkv row, its k the next: consecutive lanes read consecutive values.
MEDSAM_HOST_DEVICE void fold_token_head_parts(const std::uint16_t* qkv, std::uint16_t* q_fold, std::uint16_t* k_fold,
                                              float* q_t, const FoldShape& s, std::int64_t token, int lane,
                                              int lanes) {
  const int C = s.head_dim, HC = s.heads * C, padded = padded_heads(s.heads);
  const std::uint16_t* q = qkv + token * 3 * HC;
  const std::uint16_t* k = q + HC;
  std::uint16_t* q_out = q_fold + token * s.heads * s.folded_dim;
  std::uint16_t* k_out = k_fold + token * s.heads * s.folded_dim;
  for (int i = lane; i < HC; i += lanes) {
    const int head = i / C, c = i % C;
    const float value = bf16_to_float(q[i]);
    q_t[c * padded + head] = value;
    q_out[head * s.folded_dim + c] = float_to_bf16(value * s.scale);
    k_out[head * s.folded_dim + c] = k[i];
  }
  for (int i = lane; i < (padded - s.heads) * C; i += lanes) q_t[(i % C) * padded + s.heads + i / C] = 0.f;
}

// After the barrier: lane `lane`'s keys j of the H + W rel-pos keys (the H rows, then the W columns), for
// every head: the rel-pos term (q . the table's column j), the one-hot entry of k', then the zero padding.
MEDSAM_HOST_DEVICE void fold_token_rel_parts(const float* rel_h_t, const float* rel_w_t, std::uint16_t* q_fold,
                                             std::uint16_t* k_fold, const float* q_t, const FoldShape& s,
                                             std::int64_t token, int lane, int lanes) {
  int y = 0, x = 0;
  cell_of(s, token * s.heads, y, x);
  const int C = s.head_dim, H = s.grid_h, W = s.grid_w, Dp = s.folded_dim, padded = padded_heads(s.heads);
  std::uint16_t* q_out = q_fold + token * s.heads * Dp;
  std::uint16_t* k_out = k_fold + token * s.heads * Dp;
  for (int j = lane; j < H + W; j += lanes) {
    const bool is_row = j < H;
    const int key = is_row ? j : j - H, keys = is_row ? H : W;
    // Column `key` of the (C, keys) slice of the token's row y (rel_h_t) or column x (rel_w_t).
    const float* table = is_row ? rel_h_t + static_cast<std::int64_t>(y) * C * H + key
                                : rel_w_t + static_cast<std::int64_t>(x) * C * W + key;
    const std::uint16_t hot = key == (is_row ? y : x) ? kBf16One : 0;
    for (int h0 = 0; h0 < s.heads; h0 += kHeadChunk) {
      float acc[kHeadChunk] = {};
      for (int c = 0; c < C; ++c) {
        const float t = table[c * keys];
        const float* q_c = q_t + c * padded + h0;
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
        for (int u = 0; u < kHeadChunk; ++u) acc[u] += q_c[u] * t;
      }
      // A fixed trip count (unrolled on the GPU), so acc stays in registers rather than local memory.
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
      for (int u = 0; u < kHeadChunk; ++u) {
        if (h0 + u >= s.heads) continue;
        q_out[(h0 + u) * Dp + C + j] = float_to_bf16(acc[u]);
        k_out[(h0 + u) * Dp + C + j] = hot;
      }
    }
  }
  const int pad = Dp - C - H - W;
  for (int i = lane; i < s.heads * pad; i += lanes) {
    const int at = (i / pad) * Dp + C + H + W + i % pad;
    q_out[at] = 0;
    k_out[at] = 0;
  }
}

}  // namespace medsam::cuda_kernels::fold

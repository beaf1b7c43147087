// Helpers shared by the attention implementations of medsam/model (attention.cpp,
// attention_folded_qkv.cpp); not part of the library's interface.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>

namespace medsam::detail {

// The two rel-pos terms of q (BH, qh*qw, C), each computed once: rel_h (BH, qh, qw, kh), rel_w (BH, qh, qw, kw).
std::pair<at::Tensor, at::Tensor> rel_pos_terms(const at::Tensor& q, const at::Tensor& rel_pos_h,
                                                const at::Tensor& rel_pos_w, std::pair<int64_t, int64_t> q_hw,
                                                std::pair<int64_t, int64_t> k_hw);

// The fold's head dims are padded to a multiple of 8, what the fused kernels want.
inline int64_t round_up_to_8(int64_t n) { return (n + 7) / 8 * 8; }

// The key side of the fold: for every key j = ky * kw + kx of the grid (row-major), a one-hot key row
// (kh columns) then a one-hot key column (kw columns), zero-padded to `width` columns: (kh*kw, width).
at::Tensor one_hot_key_grid(int64_t kh, int64_t kw, int64_t width, const at::TensorOptions& options);

// Whether one of SDPA's fused kernels takes these inputs (SDPA's own chooser; false means only the
// unfused math fallback would). LibTorch 1.13 has no fused kernels and answers true: nothing to lose.
bool fused_sdpa_takes(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

// Every scaled_dot_product_attention call of the model goes through here (4-D q, k, v), so that
// start_recording_sdpa_kernels() sees it. mask: additive, or undefined; scale 0: 1/sqrt(head dim).
at::Tensor sdpa(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask = {},
                double scale = 0.0);

}  // namespace medsam::detail

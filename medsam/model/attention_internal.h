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

// Every scaled_dot_product_attention call of the model goes through here (4-D q, k, v), so that
// start_recording_sdpa_kernels() sees it. mask: additive, or undefined; scale 0: 1/sqrt(head dim).
at::Tensor sdpa(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask = {},
                double scale = 0.0);

}  // namespace medsam::detail

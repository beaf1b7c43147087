// fold_qk_bf16_reference: the fold kernels' per-warp code (medsam/model/cuda/fold_qk_body.h) run on the CPU,
// for the tests. Built in every configuration: it needs no CUDA.
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "medsam/model/cuda/fold_qk.h"
#include "medsam/model/cuda/fold_qk_body.h"

namespace medsam::cuda_kernels {

void fold_qk_bf16_reference(const std::uint16_t* qkv, const float* rel_h_t, const float* rel_w_t,
                            std::uint16_t* q_fold, std::uint16_t* k_fold, std::int64_t tokens, int grid_h, int grid_w,
                            int heads, int head_dim, int folded_dim, float scale, FoldSchedule schedule) {
  constexpr int kLanes = 32;
  if (const char* error = fold::fold_shape_error(tokens, grid_h, grid_w, heads, head_dim, folded_dim))
    throw std::invalid_argument(error);
  const fold::FoldShape shape{tokens * heads, grid_h, grid_w, heads, head_dim, folded_dim, scale};
  if (schedule == FoldSchedule::kWarpPerToken) {
    std::vector<float> q_t(static_cast<size_t>(fold::token_scratch_floats(heads, head_dim)));
    for (std::int64_t token = 0; token < tokens; ++token) {
      for (int lane = 0; lane < kLanes; ++lane)
        fold::fold_token_head_parts(qkv, q_fold, k_fold, q_t.data(), shape, token, lane, kLanes);
      for (int lane = 0; lane < kLanes; ++lane)
        fold::fold_token_rel_parts(rel_h_t, rel_w_t, q_fold, k_fold, q_t.data(), shape, token, lane, kLanes);
    }
    return;
  }
  std::vector<float> q_row(static_cast<size_t>(head_dim));
  for (std::int64_t pair = 0; pair < shape.pairs; ++pair) {
    // As one warp: every lane's first part, the barrier, every lane's second part.
    for (int lane = 0; lane < kLanes; ++lane)
      fold::fold_head_parts(qkv, q_fold, k_fold, q_row.data(), shape, pair, lane, kLanes);
    for (int lane = 0; lane < kLanes; ++lane)
      fold::fold_rel_parts(rel_h_t, rel_w_t, q_fold, k_fold, q_row.data(), shape, pair, lane, kLanes);
  }
}

}  // namespace medsam::cuda_kernels

// The fold kernel's arithmetic (medsam/model/cuda/fold_qk_body.h), run on the CPU by
// fold_qk_bf16_reference exactly as each warp runs it, against the fold's definition computed with ATen:
// q' = [scale q | rel_h | rel_w | 0], k' = [k | one-hot row | one-hot column | 0]. The CUDA launch itself is
// tested on GPU machines (cuda_parity_test.cpp, "CUDA fold kernel").
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include "medsam/model/attention.h"
#include "medsam/model/cuda/fold_qk.h"
#include "medsam/model/cuda/fold_qk_body.h"

using namespace medsam;

namespace {

const std::uint16_t* bits_of(const at::Tensor& t) { return static_cast<const std::uint16_t*>(t.data_ptr()); }

}  // namespace

TEST_CASE("the fold kernel's bf16 conversions are c10::BFloat16's, ties to even and NaN included", "[model][kernel]") {
  torch::manual_seed(2);
  std::vector<float> values = {0.f, -0.f, 1.f, -2.5f, 1e-40f, 3.4e38f, std::numeric_limits<float>::infinity(),
                               -std::numeric_limits<float>::infinity()};
  // Exact ties: 1 + 2^-8 (rounds down to even) and 1 + 3 * 2^-8 (rounds up to even).
  values.push_back(1.f + std::ldexp(1.f, -8));
  values.push_back(1.f + 3 * std::ldexp(1.f, -8));
  const at::Tensor random = torch::randn({4096}) * 100;
  for (int64_t i = 0; i < random.numel(); ++i) values.push_back(random[i].item<float>());
  const at::Tensor as_float = torch::tensor(values);
  const at::Tensor torch_bf16 = as_float.to(at::kBFloat16);
  for (size_t i = 0; i < values.size(); ++i) {
    INFO("value " << values[i]);
    CHECK(cuda_kernels::fold::float_to_bf16(values[i]) == bits_of(torch_bf16)[i]);
    CHECK(cuda_kernels::fold::bf16_to_float(bits_of(torch_bf16)[i]) == torch_bf16[i].item<float>());
  }
  const std::uint16_t nan = cuda_kernels::fold::float_to_bf16(std::numeric_limits<float>::quiet_NaN());
  CHECK(std::isnan(cuda_kernels::fold::bf16_to_float(nan)));
}

TEST_CASE("the fold kernel's per-warp code writes SAM's folded q' and k', in both schedules", "[model][kernel]") {
  using cuda_kernels::FoldSchedule;
  const auto schedule = GENERATE(FoldSchedule::kWarpPerPair, FoldSchedule::kWarpPerToken);
  torch::manual_seed(13);
  // (batch, grid, heads, head dim): ViT-B's windowed attention (fold 64+14+14 = 92, padded to 96), a
  // non-square grid with a head dim that is not a multiple of 8, a head dim above a warp's 32 lanes, a
  // grid wider than 32 (ViT-B's global attention is 64x64), and head counts that are not multiples of the
  // token schedule's chunk of 4 (3, 6) or span several chunks (6, 12).
  for (const auto& [B, H, W, heads, C] : std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>>{
           {2, 14, 14, 2, 64}, {1, 6, 5, 3, 12}, {1, 4, 4, 2, 40}, {1, 40, 3, 1, 8}, {1, 5, 7, 6, 16},
           {1, 4, 4, 12, 64}}) {
    INFO((schedule == FoldSchedule::kWarpPerToken ? "warp per token, " : "warp per pair, ")
         << B << " x grid " << H << "x" << W << ", " << heads << " heads of dim " << C);
    const int64_t N = H * W, tokens = B * N, Dp = (C + H + W + 7) / 8 * 8;
    const at::Tensor qkv = torch::randn({B, N, 3 * heads * C}).to(at::kBFloat16);
    const at::Tensor rh = torch::randn({2 * H - 1, C}), rw = torch::randn({2 * W - 1, C});
    const at::Tensor Rh = get_rel_pos(H, H, rh), Rw = get_rel_pos(W, W, rw);  // (H, H, C), (W, W, C)
    const at::Tensor rel_h_t = Rh.transpose(1, 2).contiguous(), rel_w_t = Rw.transpose(1, 2).contiguous();
    const float scale = 1.f / std::sqrt(static_cast<float>(C));
    at::Tensor qf = torch::full({tokens, heads, Dp}, 7.0, at::kBFloat16);  // garbage the fold must overwrite
    at::Tensor kf = torch::full({tokens, heads, Dp}, 7.0, at::kBFloat16);
    cuda_kernels::fold_qk_bf16_reference(bits_of(qkv), rel_h_t.data_ptr<float>(), rel_w_t.data_ptr<float>(),
                                         static_cast<std::uint16_t*>(qf.data_ptr()),
                                         static_cast<std::uint16_t*>(kf.data_ptr()), tokens, H, W, heads, C, Dp,
                                         scale, schedule);

    // The definition, in fp32 from the same bf16 inputs.
    const at::Tensor parts = qkv.to(at::kFloat).view({B, H, W, 3, heads, C});
    const at::Tensor q = parts.select(3, 0), k = parts.select(3, 1);  // (B, H, W, heads, C)
    const at::Tensor rel_h = at::einsum("byxnc,yjc->byxnj", {q, Rh}).reshape({tokens, heads, H});
    const at::Tensor rel_w = at::einsum("byxnc,xjc->byxnj", {q, Rw}).reshape({tokens, heads, W});
    const at::Tensor qf32 = qf.to(at::kFloat), kf32 = kf.to(at::kFloat);
    CHECK(torch::equal(qf.narrow(-1, 0, C), (q * scale).to(at::kBFloat16).reshape({tokens, heads, C})));
    CHECK(torch::equal(kf.narrow(-1, 0, C), k.to(at::kBFloat16).reshape({tokens, heads, C})));
    // fp32 sums in another order, then one bf16 rounding: within a bf16 step of the largest term.
    const auto close = [](const at::Tensor& got, const at::Tensor& want) {
      return (got - want).abs().max().item<double>() <= 1e-2 * want.abs().max().item<double>() + 1e-6;
    };
    CHECK(close(qf32.narrow(-1, C, H), rel_h));
    CHECK(close(qf32.narrow(-1, C + H, W), rel_w));
    // k': one-hot of the key's own row and column; every pad column zero in both.
    const at::Tensor ys = torch::arange(H).view({1, H, 1}).expand({B, H, W}).reshape({tokens});
    const at::Tensor xs = torch::arange(W).view({1, 1, W}).expand({B, H, W}).reshape({tokens});
    const at::Tensor row_hot = at::one_hot(ys, H).to(at::kFloat).unsqueeze(1).expand({tokens, heads, H});
    const at::Tensor col_hot = at::one_hot(xs, W).to(at::kFloat).unsqueeze(1).expand({tokens, heads, W});
    CHECK(torch::equal(kf32.narrow(-1, C, H), row_hot));
    CHECK(torch::equal(kf32.narrow(-1, C + H, W), col_hot));
    if (Dp > C + H + W) {
      CHECK(torch::equal(qf32.narrow(-1, C + H + W, Dp - C - H - W), torch::zeros({tokens, heads, Dp - C - H - W})));
      CHECK(torch::equal(kf32.narrow(-1, C + H + W, Dp - C - H - W), torch::zeros({tokens, heads, Dp - C - H - W})));
    }
    // q'.k' is SAM's logit: scale q.k + rel_h[ky] + rel_w[kx] (checked for the first token against all keys).
    const at::Tensor logits = at::einsum("nd,tnd->nt", {qf32[0], kf32.narrow(0, 0, N)});
    const at::Tensor expected = at::einsum("nc,tnc->nt", {q.reshape({tokens, heads, C})[0] * scale,
                                                          k.reshape({tokens, heads, C}).narrow(0, 0, N)}) +
                                rel_h[0].index_select(1, ys.narrow(0, 0, N)) + rel_w[0].index_select(1, xs.narrow(0, 0, N));
    CHECK(close(logits, expected));
  }
  const at::Tensor qkv = torch::zeros({1, 4, 6}, at::kBFloat16);
  std::vector<std::uint16_t> out(64);
  std::vector<float> table(64);
  CHECK_THROWS_WITH(cuda_kernels::fold_qk_bf16_reference(bits_of(qkv), table.data(), table.data(), out.data(),
                                                         out.data(), 4, 2, 2, 1, 2, 5, 1.f, schedule),
                    Catch::Contains("exceeds folded_dim"));
  CHECK_THROWS_WITH(cuda_kernels::fold_qk_bf16_reference(bits_of(qkv), table.data(), table.data(), out.data(),
                                                         out.data(), 4, 2, 2, 0, 2, 8, 1.f, schedule),
                    Catch::Contains("heads and head_dim > 0"));
}

TEST_CASE("the fold kernel's two schedules write the same bits (each term summed in the same order)", "[model][kernel]") {
  using cuda_kernels::FoldSchedule;
  torch::manual_seed(5);
  const int H = 9, W = 7, heads = 5, C = 24, Dp = 40;  // 5 heads: a chunk of 4 and a chunk of 1
  const int64_t tokens = 2 * H * W;
  const at::Tensor qkv = torch::randn({tokens, 3 * heads * C}).to(at::kBFloat16);
  const at::Tensor rel_h_t = torch::randn({H, C, H}), rel_w_t = torch::randn({W, C, W});
  const auto fold = [&](FoldSchedule schedule) {
    at::Tensor qf = torch::full({tokens, heads, Dp}, 3.0, at::kBFloat16), kf = torch::full({tokens, heads, Dp}, 3.0, at::kBFloat16);
    cuda_kernels::fold_qk_bf16_reference(bits_of(qkv), rel_h_t.data_ptr<float>(), rel_w_t.data_ptr<float>(),
                                         static_cast<std::uint16_t*>(qf.data_ptr()),
                                         static_cast<std::uint16_t*>(kf.data_ptr()), tokens, H, W, heads, C, Dp, 0.2f,
                                         schedule);
    return std::make_pair(qf, kf);
  };
  const auto [q_pair, k_pair] = fold(FoldSchedule::kWarpPerPair);
  const auto [q_token, k_token] = fold(FoldSchedule::kWarpPerToken);
  CHECK(torch::equal(q_pair, q_token));
  CHECK(torch::equal(k_pair, k_token));
}

TEST_CASE("fold kernel names parse to their schedules, an unknown name is refused with the choices", "[model][kernel]") {
  CHECK(parse_fold_kernel("off") == FoldKernel::kOff);
  CHECK(parse_fold_kernel("pair") == FoldKernel::kWarpPerPair);
  CHECK(parse_fold_kernel("token") == FoldKernel::kWarpPerToken);
  CHECK_THROWS_WITH(parse_fold_kernel("on"), Catch::Contains("off, pair, token"));
}

// The fast encoder attention (fused rel-pos bias, chunked query rows) computes what SAM's literal
// formula computes. Random weights with non-zero rel-pos tables; tolerance 1e-5 (fp32 reordering).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <tuple>
#include <vector>

#include "medsam/core/torch_compat.h"
#include "medsam/model/attention.h"
#include "medsam/model/build_sam.h"
#include "medsam/model/image_encoder.h"
#include "tests/support/tensor_checks.h"

using namespace medsam;

namespace {

}  // namespace

TEST_CASE("get_rel_pos gathers table[i - j + k - 1] for equal query and key sizes", "[model]") {
  const auto table = torch::randn({9, 4});  // 2*5-1 rows
  const auto R = get_rel_pos(5, 5, table);
  REQUIRE(R.sizes() == at::IntArrayRef({5, 5, 4}));
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) CHECK(torch::equal(R[i][j], table[i - j + 4]));
}

TEST_CASE("get_rel_pos resizes a table of another length by linear interpolation", "[model]") {
  // A linear ramp stays a linear ramp under linear (align_corners=false) resizing from 5 to 9 rows
  // only inside; check the shape and that the ends stay within the table's range.
  const auto table = torch::arange(5, torch::kFloat).unsqueeze(1).repeat({1, 3});
  const auto R = get_rel_pos(5, 5, table);
  REQUIRE(R.sizes() == at::IntArrayRef({5, 5, 3}));
  CHECK(R.min().item<float>() >= 0.0f);
  CHECK(R.max().item<float>() <= 4.0f);
  CHECK(R[4][0][0].item<float>() == Approx(4.0f));  // i - j = 4: last row of the resized table
}

TEST_CASE("fast rel-pos attention equals the reference on a windowed (14x14) grid", "[model]") {
  torch::manual_seed(1);
  const int64_t BH = 7, C = 16;
  auto q = torch::randn({BH, 14 * 14, C}), k = torch::randn({BH, 14 * 14, C}), v = torch::randn({BH, 14 * 14, C});
  auto rh = torch::randn({27, C}), rw = torch::randn({27, C});
  const double scale = std::pow(C, -0.5);
  const auto ref = rel_pos_attention_reference(q, k, v, rh, rw, {14, 14}, {14, 14}, scale);
  for (int64_t chunk : {int64_t{1} << 20, int64_t{2} * 196 * 196 + 5, int64_t{1000}}) {
    INFO("chunk_elements " << chunk);
    const auto fast = rel_pos_attention_fast(q, k, v, rh, rw, {14, 14}, {14, 14}, scale, chunk);
    CHECK(test::max_abs_diff(fast, ref) < 1e-5);
  }
}

TEST_CASE("fast rel-pos attention equals the reference on a global grid, with partial row chunks", "[model]") {
  torch::manual_seed(2);
  const int64_t BH = 3, C = 8, H = 16, W = 12;
  auto q = torch::randn({BH, H * W, C}), k = torch::randn({BH, H * W, C}), v = torch::randn({BH, H * W, C});
  auto rh = torch::randn({2 * H - 1, C}), rw = torch::randn({2 * W - 1, C});
  const double scale = std::pow(C, -0.5);
  const auto ref = rel_pos_attention_reference(q, k, v, rh, rw, {H, W}, {H, W}, scale);
  // 3 grid rows per chunk: 16 rows = 5 full chunks + 1 partial
  for (int64_t chunk : {int64_t{1} << 20, 3 * W * H * W, W * H * W, int64_t{1}}) {
    INFO("chunk_elements " << chunk);
    const auto fast = rel_pos_attention_fast(q, k, v, rh, rw, {H, W}, {H, W}, scale, chunk);
    CHECK(test::max_abs_diff(fast, ref) < 1e-5);
  }
}

TEST_CASE("fast attention without rel-pos equals plain softmax attention", "[model]") {
  torch::manual_seed(3);
  auto q = torch::randn({2, 36, 8}), k = torch::randn({2, 36, 8}), v = torch::randn({2, 36, 8});
  const auto ref = rel_pos_attention_reference(q, k, v, {}, {}, {6, 6}, {6, 6}, 0.25);
  const auto fast = rel_pos_attention_fast(q, k, v, {}, {}, {6, 6}, {6, 6}, 0.25, 100);
  CHECK(test::max_abs_diff(fast, ref) < 1e-5);
}

TEST_CASE("tiny encoder gives the same embedding with every attention path", "[model]") {
  torch::manual_seed(4);
  torch::NoGradGuard ng;
  auto sam = build_sam("tiny");
  test::randomise(*sam->image_encoder, 0.5);
  auto x = torch::rand({1, 3, 256, 256});
  sam->image_encoder->set_attention_path(parse_attention_path("reference"));
  const auto ref = sam->encode(x);
  for (const char* name : {"fast", "chunks", "folded", "folded-narrow-v"}) {
    INFO(name);
    sam->image_encoder->set_attention_path(parse_attention_path(name), 4096);  // force several chunks
    CHECK(test::max_abs_diff(sam->encode(x), ref) < 1e-5);
  }
  CHECK_THROWS_WITH(parse_attention_path("flash"), Catch::Contains("fast, reference, chunks, folded, folded-narrow-v") &&
                                                        Catch::Contains("'flash'"));
}

TEST_CASE("fast attention is differentiable and its gradients equal the reference path's", "[model][train]") {
  torch::manual_seed(5);
  const int64_t BH = 3, C = 8, H = 10, W = 6;
  auto make = [&](at::IntArrayRef shape) { return torch::randn(shape).requires_grad_(true); };
  auto q = make({BH, H * W, C}), k = make({BH, H * W, C}), v = make({BH, H * W, C});
  auto rh = make({2 * H - 1, C}), rw = make({2 * W - 1, C});
  const auto upstream = torch::randn({BH, H * W, C});
  const double scale = std::pow(C, -0.5);
  auto grads = [&](const at::Tensor& out) {
    return torch::autograd::grad({(out * upstream).sum()}, {q, k, v, rh, rw});
  };
  const auto ref = rel_pos_attention_reference(q, k, v, rh, rw, {H, W}, {H, W}, scale);
  const auto g_ref = grads(ref);
  // one chunk, whole entries per chunk, and partial grid rows (2 of 10 rows per chunk)
  for (int64_t chunk : {int64_t{1} << 20, H * W * H * W, 2 * W * H * W}) {
    INFO("chunk_elements " << chunk);
    const auto fast = rel_pos_attention_fast(q, k, v, rh, rw, {H, W}, {H, W}, scale, chunk);
    REQUIRE(fast.requires_grad());
    CHECK(test::max_abs_diff(fast, ref) < 1e-5);
    const auto g_fast = grads(fast);
    const char* names[] = {"q", "k", "v", "rel_pos_h", "rel_pos_w"};
    for (size_t i = 0; i < g_ref.size(); ++i) {
      INFO("gradient of " << names[i]);
      CHECK(test::max_abs_diff(g_fast[i], g_ref[i]) < 1e-4);
    }
  }
}

// The CUDA path (rel-pos folded into q and k for the fused kernels) checked on the CPU, where the compat
// layer composes the same attention from matmul + softmax: what it feeds the kernels must be right.
TEST_CASE("folded rel-pos attention equals the reference in values and gradients", "[model][train]") {
  torch::manual_seed(9);
  const double tol = 1e-5;
  for (const auto& [H, W, C] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{14, 14, 16}, {10, 6, 8}, {8, 8, 64}}) {
    INFO("grid " << H << "x" << W << ", head dim " << C);
    const int64_t BH = 3;
    auto make = [&](at::IntArrayRef shape) { return torch::randn(shape).requires_grad_(true); };
    auto q = make({BH, H * W, C}), k = make({BH, H * W, C}), v = make({BH, H * W, C});
    auto rh = make({2 * H - 1, C}), rw = make({2 * W - 1, C});
    const auto upstream = torch::randn({BH, H * W, C});
    const double scale = std::pow(C, -0.5);
    auto grads = [&](const at::Tensor& out) {
      return torch::autograd::grad({(out * upstream).sum()}, {q, k, v, rh, rw});
    };
    const auto ref = rel_pos_attention_reference(q, k, v, rh, rw, {H, W}, {H, W}, scale);
    const auto g_ref = grads(ref);
    for (const auto value_dim : {FoldedValueDim::kPadded, FoldedValueDim::kOwn, FoldedValueDim::kOwnWhereFused}) {
      INFO("v head dim: " << (value_dim == FoldedValueDim::kPadded ? "q's" : value_dim == FoldedValueDim::kOwn ? "own" : "own where fused"));
      const auto folded = rel_pos_attention_folded(q, k, v, rh, rw, {H, W}, {H, W}, scale, value_dim);
      REQUIRE(folded.sizes() == ref.sizes());
      CHECK(test::max_abs_diff(folded, ref) < tol);
      const auto g_folded = grads(folded);
      const char* names[] = {"q", "k", "v", "rel_pos_h", "rel_pos_w"};
      for (size_t i = 0; i < g_ref.size(); ++i) {
        INFO("gradient of " << names[i]);
        CHECK(test::max_abs_diff(g_folded[i], g_ref[i]) < 1e-4);
      }
    }
  }
  // No rel-pos tables: plain scaled attention.
  auto q = torch::randn({2, 20, 8}), k = torch::randn({2, 20, 8}), v = torch::randn({2, 20, 8});
  const auto ref = rel_pos_attention_reference(q, k, v, {}, {}, {4, 5}, {4, 5}, 0.3);
  CHECK(test::max_abs_diff(rel_pos_attention_folded(q, k, v, {}, {}, {4, 5}, {4, 5}, 0.3), ref) < tol);
}

TEST_CASE("folded attention built in place from the qkv rows equals the reference", "[model]") {
  torch::manual_seed(11);
  // (grid, heads, head dim): a windowed 14x14 grid (fold 64+14+14 = 92, padded to 96), a non-square grid,
  // and a head dim that is not a multiple of 8 (v padded).
  for (const auto& [H, W, heads, C] :
       std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t>>{{14, 14, 2, 64}, {6, 5, 3, 8}, {4, 4, 2, 12}}) {
    INFO("grid " << H << "x" << W << ", " << heads << " heads of dim " << C);
    const int64_t B = 2, N = H * W;
    const auto qkv = torch::randn({B, N, 3 * heads * C});
    const auto rh = torch::randn({2 * H - 1, C}), rw = torch::randn({2 * W - 1, C});
    const double scale = std::pow(static_cast<double>(C), -0.5);
    // The module's own split: (B, N, 3, heads, C) -> three (B*heads, N, C).
    const auto parts = qkv.view({B, N, 3, heads, C}).permute({2, 0, 3, 1, 4}).reshape({3, B * heads, N, C});
    for (const bool rel : {true, false}) {
      INFO("rel-pos terms: " << rel);
      const auto ref = rel_pos_attention_reference(parts[0], parts[1], parts[2], rel ? rh : at::Tensor(),
                                                   rel ? rw : at::Tensor(), {H, W}, {H, W}, scale)
                           .view({B, heads, N, C})
                           .permute({0, 2, 1, 3})
                           .reshape({B, N, heads * C});
      torch::NoGradGuard ng;
      const auto got = rel_pos_attention_folded_qkv(qkv, heads, rel ? rh : at::Tensor(), rel ? rw : at::Tensor(),
                                                    {H, W}, scale);
      REQUIRE(got.sizes() == ref.sizes());
      CHECK(test::max_abs_diff(got, ref) < 1e-5);
    }
  }
  // Under autograd it refuses, naming the function to use instead.
  const auto qkv = torch::randn({1, 16, 3 * 2 * 8}, torch::requires_grad());
  CHECK_THROWS_WITH(rel_pos_attention_folded_qkv(qkv, 2, torch::randn({7, 8}), torch::randn({7, 8}), {4, 4}, 0.3),
                    Catch::Contains("use rel_pos_attention_folded under autograd"));
}

TEST_CASE("SDPA calls are recorded once per call shape, with the kernel SDPA picks, only while recording",
          "[model]") {
  torch::NoGradGuard ng;
  const auto q = torch::randn({2, 6 * 5, 8}), k = torch::randn({2, 6 * 5, 8}), v = torch::randn({2, 6 * 5, 8});
  const auto rh = torch::randn({11, 8}), rw = torch::randn({9, 8});
  rel_pos_attention_folded(q, k, v, rh, rw, {6, 5}, {6, 5}, 0.3);  // not recording: leaves no trace
  start_recording_sdpa_kernels();
  for (int i = 0; i < 3; ++i) rel_pos_attention_folded(q, k, v, rh, rw, {6, 5}, {6, 5}, 0.3);
  rel_pos_attention_folded(q, k, v, {}, {}, {6, 5}, {6, 5}, 0.3);  // plain attention: another call shape
  const auto lines = stop_recording_sdpa_kernels();
  REQUIRE(lines.size() == 2);
  // Folded: head dim 8 + 6 key rows + 5 key columns = 19, padded to 24 for q, k and v.
  const auto folded = torch::zeros({1, 2, 30, 24});
  CHECK(lines[0] == "q 1x2x30x24 k 1x2x30x24 v 1x2x30x24 Float, no mask: " +
                        compat::sdpa_kernel_for(folded, folded, folded, {}));
  CHECK_THAT(lines[1], Catch::StartsWith("q 1x2x30x8 k 1x2x30x8 v 1x2x30x8 Float, no mask: "));
  rel_pos_attention_folded(q, k, v, rh, rw, {6, 5}, {6, 5}, 0.3);
  CHECK(stop_recording_sdpa_kernels().empty());  // stopped: nothing more recorded
}

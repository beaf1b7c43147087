// SAM's window partition of the windowed blocks, and the one-pass forms the encoder runs without autograd
// (window_partition_one_pass, add_window_unpartition): the same windows and sums, bit for bit, on grids
// that divide into windows, that need padding in one or both directions, and that are smaller than a window.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <utility>

#include "medsam/model/image_encoder.h"

using namespace medsam;

TEST_CASE("window partition: token (y, x) of image b lands in window (y/ws, x/ws) at (y%ws, x%ws), pad zero",
          "[model][window]") {
  const int64_t B = 2, H = 5, W = 7, ws = 3, C = 4;
  const at::Tensor x = torch::randn({B, H, W, C});
  const auto [windows, pad_hw] = window_partition(x, ws);
  const int64_t nh = 2, nw = 3;  // ceil(5/3), ceil(7/3)
  REQUIRE(windows.sizes() == at::IntArrayRef({B * nh * nw, ws, ws, C}));
  CHECK(pad_hw == std::make_pair(nh * ws, nw * ws));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t y = 0; y < nh * ws; ++y)
      for (int64_t xx = 0; xx < nw * ws; ++xx) {
        const at::Tensor got = windows[(b * nh + y / ws) * nw + xx / ws][y % ws][xx % ws];
        if (y < H && xx < W) {
          CHECK(torch::equal(got, x[b][y][xx]));
        } else {
          CHECK(torch::equal(got, torch::zeros({C})));
        }
      }
}

TEST_CASE("window_partition_one_pass and add_window_unpartition equal SAM's partition and unpartition",
          "[model][window]") {
  struct Shape {
    int64_t H, W, ws;
  };
  for (const Shape s : {Shape{6, 9, 3}, Shape{5, 7, 3}, Shape{8, 6, 4}, Shape{64, 64, 14}, Shape{2, 3, 4}}) {
    INFO("grid " << s.H << "x" << s.W << ", window " << s.ws);
    const at::Tensor x = torch::randn({2, s.H, s.W, 8});
    const auto [expected, expected_pad] = window_partition(x, s.ws);
    const auto [windows, pad_hw] = window_partition_one_pass(x, s.ws);
    CHECK(pad_hw == expected_pad);
    REQUIRE(windows.sizes() == expected.sizes());
    CHECK(torch::equal(windows, expected));
    CHECK(windows.is_contiguous());

    const at::Tensor out = torch::randn(expected.sizes());  // what the attention returns per window
    const at::Tensor sum = add_window_unpartition(x, out, s.ws);
    CHECK(torch::equal(sum, x + window_unpartition(out, s.ws, expected_pad, {s.H, s.W})));
    // An fp32 stream plus bf16 windows (autocast's fp32 residual stream): fp32, as x + ... gives.
    const at::Tensor out_bf16 = out.to(at::kBFloat16);
    const at::Tensor mixed = add_window_unpartition(x, out_bf16, s.ws);
    CHECK(mixed.scalar_type() == at::kFloat);
    CHECK(torch::equal(mixed, x + window_unpartition(out_bf16, s.ws, expected_pad, {s.H, s.W})));
  }
  const at::Tensor x = torch::randn({1, 5, 5, 4});
  CHECK_THROWS_WITH(add_window_unpartition(x, torch::zeros({3, 3, 3, 4}), 3), Catch::Contains("do not cover"));
}

TEST_CASE("a windowed block gives the same output with and without autograd", "[model][window]") {
  torch::manual_seed(7);
  Block block(16, 2, 4.0, true, 1e-6, true, 3, std::make_pair<int64_t, int64_t>(3, 3));
  {
    torch::NoGradGuard ng;  // SAM initialises the rel-pos tables to zeros: give them values that matter
    block->attn->rel_pos_h.normal_();
    block->attn->rel_pos_w.normal_();
  }
  const at::Tensor x = torch::randn({2, 7, 7, 16});
  at::Tensor with_grad, without;
  {
    torch::AutoGradMode on(true);
    with_grad = block->forward(x).detach();
  }
  {
    torch::NoGradGuard off;
    without = block->forward(x);
  }
  CHECK(torch::allclose(with_grad, without, 1e-6, 1e-6));
}

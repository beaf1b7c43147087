// The mask decoder's upscaling computes ConvTranspose2d(k=2, s=2) as a GEMM; it must equal the
// module it replaces, values and gradients.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/model/common.h"

TEST_CASE("conv_transpose2x2_stride2 equals nn::ConvTranspose2d(k=2, s=2), forward and backward", "[model]") {
  torch::manual_seed(11);
  torch::nn::ConvTranspose2d conv(torch::nn::ConvTranspose2dOptions(6, 5, 2).stride(2));
  for (bool with_bias : {true, false}) {
    INFO("bias " << with_bias);
    const at::Tensor bias = with_bias ? conv->bias : at::Tensor();
    auto x = torch::randn({3, 6, 4, 7}).requires_grad_(true);
    const auto ref = with_bias ? conv->forward(x) : conv->forward(x) - conv->bias.view({1, 5, 1, 1});
    const auto got = medsam::conv_transpose2x2_stride2(x, conv->weight, bias);
    REQUIRE(got.sizes() == ref.sizes());
    CHECK((got - ref).abs().max().item<double>() < 1e-5);
    const auto up = torch::randn_like(ref);
    const auto g_ref = torch::autograd::grad({(ref * up).sum()}, {x, conv->weight});
    const auto g_got = torch::autograd::grad({(got * up).sum()}, {x, conv->weight});
    CHECK((g_got[0] - g_ref[0]).abs().max().item<double>() < 1e-4);
    CHECK((g_got[1] - g_ref[1]).abs().max().item<double>() < 1e-4);
  }
}

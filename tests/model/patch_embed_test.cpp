// The patch embedding as one GEMM (what PatchEmbed runs on CUDA) against the stride-p conv it replaces.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/model/image_encoder.h"

using namespace medsam;

TEST_CASE("patch embedding as a GEMM equals the stride-p conv in values and gradients", "[model][train]") {
  torch::manual_seed(3);
  // 64x64 cuts into whole 16x16 patches; 70x75 leaves rows and columns the conv never sees.
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{64, 64}, {70, 75}}) {
    INFO("image " << h << "x" << w);
    PatchEmbed embed(16, 3, 24);
    const auto x = torch::randn({2, 3, h, w}, torch::requires_grad());
    const auto conv = embed->forward(x);  // CPU: the conv module
    const auto gemm = patch_embed_as_gemm(x, embed->proj->weight, embed->proj->bias);
    REQUIRE(gemm.sizes() == conv.sizes());
    CHECK(gemm.sizes() == at::IntArrayRef({2, h / 16, w / 16, 24}));
    CHECK((gemm - conv).abs().max().item<double>() < 1e-4);

    const auto upstream = torch::randn(conv.sizes());
    const auto params = std::vector<at::Tensor>{x, embed->proj->weight, embed->proj->bias};
    const auto g_conv = torch::autograd::grad({(conv * upstream).sum()}, params);
    const auto g_gemm = torch::autograd::grad({(gemm * upstream).sum()}, params);
    for (size_t i = 0; i < params.size(); ++i) {
      INFO("gradient " << i << " (image, weight, bias)");
      CHECK((g_gemm[i] - g_conv[i]).abs().max().item<double>() < 1e-3);
    }
  }
  PatchEmbed embed(16, 3, 24);
  CHECK_THROWS_WITH(patch_embed_as_gemm(torch::randn({1, 1, 32, 32}), embed->proj->weight, embed->proj->bias),
                    Catch::Contains("image of 1 channels"));
}

// The two ops of the encoder's reduced (bf16) residual stream (medsam/model/common.h): lin1 + GELU as one
// at::_addmm_activation call, and LayerNorm in the input's dtype under autocast. On the CPU; the CUDA run of
// the whole stream is in cuda_parity_test.cpp.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <string>

#include "medsam/core/precision.h"
#include "medsam/model/attention.h"
#include "medsam/model/common.h"
#include "tests/support/run_command.h"

using namespace medsam;

namespace {

double max_abs(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kFloat) - b.to(at::kFloat)).abs().max().item<double>();
}

}  // namespace

TEST_CASE("linear_gelu_rows is GELU(lin(x)) for any leading dims, in x's dtype", "[model][stream]") {
  torch::NoGradGuard ng;
  torch::manual_seed(3);
  torch::nn::Linear lin(24, 40);
  const at::Tensor x = torch::randn({2, 5, 7, 24}) * 2;
  const at::Tensor exact = at::gelu(lin(x));  // SAM's nn.GELU(): the erf form
  const at::Tensor fused = linear_gelu_rows(lin, x);
  REQUIRE(fused.sizes() == exact.sizes());
  CHECK(fused.scalar_type() == at::kFloat);
  // The exact form on LibTorch's CPU kernel, the tanh form where cuBLASLt's epilogue runs: both within
  // the largest gap between the two forms (4.7e-4), plus float rounding.
  CHECK(max_abs(fused, exact) < 5e-4);
  CHECK(max_abs(fused, at::gelu(lin(x), "tanh")) < 5e-4);

  // bf16 in, bf16 out (the weights are cast to it): within bf16 rounding of the fp32 result.
  const at::Tensor fused_bf16 = linear_gelu_rows(lin, x.to(at::kBFloat16));
  CHECK(fused_bf16.scalar_type() == at::kBFloat16);
  CHECK(max_abs(fused_bf16, exact) < 0.05 * exact.abs().max().item<double>());

  torch::nn::Linear no_bias(torch::nn::LinearOptions(24, 40).bias(false));
  CHECK_THROWS_WITH(linear_gelu_rows(no_bias, x), Catch::Contains("no bias"));
}

TEST_CASE("MLPBlock with the fused GELU equals the unfused block", "[model][stream]") {
  torch::NoGradGuard ng;
  torch::manual_seed(4);
  MLPBlock mlp(32, 128, Activation::kGELU);
  const at::Tensor x = torch::randn({3, 4, 4, 32});
  CHECK(max_abs(mlp->forward(x, /*fuse_gelu=*/true), mlp->forward(x)) < 5e-4);
  // ReLU blocks (the decoder's) ignore the flag.
  MLPBlock relu(32, 64, Activation::kReLU);
  CHECK(torch::equal(relu->forward(x, true), relu->forward(x)));
}

TEST_CASE("layer_norm_in_dtype keeps a bf16 input in bf16 under autocast", "[model][stream]") {
  torch::NoGradGuard ng;
  torch::manual_seed(5);
  torch::nn::LayerNorm ln(torch::nn::LayerNormOptions({48}).eps(1e-6));
  ln->weight.data().uniform_(0.5, 1.5);
  ln->bias.data().uniform_(-0.5, 0.5);
  const at::Tensor x = torch::randn({2, 6, 6, 48}) * 3 + 1;
  const at::Tensor reference = ln(x);
  const at::Tensor xb = x.to(at::kBFloat16);
  const PrecisionScope bf16(Precision::kBf16, c10::kCPU, ModelPart::kImageEncoder);
  // The module itself never gives bf16 here: CUDA's autocast runs layer_norm in fp32, LibTorch 1.13's CPU
  // autocast has no rule for it and its kernel refuses a bf16 x with fp32 weights.
  const at::Tensor y = layer_norm_in_dtype(ln, xb);
  CHECK(y.scalar_type() == at::kBFloat16);
  REQUIRE(y.sizes() == x.sizes());
  // bf16 input rounding (~0.4%) and output rounding: a few hundredths at these magnitudes.
  CHECK(max_abs(y, reference) < 0.05);
  CHECK(max_abs(y, reference) > 0);  // it really ran in bf16
  // fp32 input: the same as the module.
  CHECK(torch::allclose(layer_norm_in_dtype(ln, x), reference, 1e-6, 1e-6));
}

TEST_CASE("bench encoder runs bf16 and bf16-autocast, and says whether the fold kernel ran", "[model][stream][cli]") {
  for (const std::string precision : {"bf16", "bf16-autocast"}) {
    const auto r = test::run_medsam("bench encoder --arch tiny --iters 1 --warmup 0 --threads 1 --precision " +
                                    precision + " --fold-kernel off");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("precision=" + precision + " "));
    CHECK_THAT(r.out, Catch::Contains(fold_kernel_available() ? "fold-kernel=off" : "fold-kernel=none"));
  }
  CHECK(test::run_medsam("bench encoder --arch tiny --precision bf16 --fold-kernel maybe").exit_code == 2);
}

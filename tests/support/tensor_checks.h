// Small tensor helpers the model tests share (see tests/support/tiny_sam.h for why they live here).
#pragma once

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <string>

namespace medsam::test {

// Every parameter of `m` drawn from N(0, std): weights far from the init, so two code paths that agree
// only on a near-zero model do not pass.
inline void randomise(torch::nn::Module& m, double std) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) p.normal_(0, std);
}

// max |a - b|, both read as fp32 on the CPU.
inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.detach().cpu().to(at::kFloat) - b.detach().cpu().to(at::kFloat)).abs().max().item<double>();
}

// ||a - e|| / ||e|| (L2 over all elements), both read as fp32 on the CPU: the bf16 error measure.
inline double rel_l2(const at::Tensor& a, const at::Tensor& e) {
  const at::Tensor expected = e.detach().cpu().to(at::kFloat);
  return ((a.detach().cpu().to(at::kFloat) - expected).norm() / expected.norm()).item<double>();
}

// The parity bar for fp32 against the Python reference or between fp32 code paths: allclose with rtol 1e-4,
// atol 1e-4; the max abs diff goes into INFO under `what`.
inline void check_close(const at::Tensor& actual, const at::Tensor& expected, const std::string& what) {
  REQUIRE(actual.sizes() == expected.sizes());
  INFO(what << ": max abs diff " << max_abs_diff(actual, expected) << ", max abs " << expected.abs().max().item<double>());
  CHECK(torch::allclose(actual, expected, /*rtol=*/1e-4, /*atol=*/1e-4));
}

}  // namespace medsam::test

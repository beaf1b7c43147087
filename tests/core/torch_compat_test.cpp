// The compat header compiles against this LibTorch and its helpers behave the same on 1.13 and 2.x.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/core/torch_compat.h"

using namespace medsam;

TEST_CASE("scaled_dot_product_attention equals softmax(q k^T / sqrt(d) + mask) v", "[compat]") {
  torch::manual_seed(0);
  auto q = torch::randn({2, 3, 5, 8}), k = torch::randn({2, 3, 7, 8}), v = torch::randn({2, 3, 7, 4});
  auto mask = torch::randn({5, 7});
  auto expected = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(8.0) + mask, -1).matmul(v);
  CHECK(torch::allclose(compat::scaled_dot_product_attention(q, k, v, mask), expected, 1e-5, 1e-6));
  auto expected_nomask = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(8.0), -1).matmul(v);
  CHECK(torch::allclose(compat::scaled_dot_product_attention(q, k, v), expected_nomask, 1e-5, 1e-6));
}

TEST_CASE("AutocastScope turns CPU autocast on inside and restores the previous state after", "[compat]") {
  const bool before = compat::autocast_enabled(c10::DeviceType::CPU);
  const auto before_dtype = compat::autocast_dtype(c10::DeviceType::CPU);
  {
    compat::AutocastScope scope(c10::DeviceType::CPU, at::kBFloat16);
    CHECK(compat::autocast_enabled(c10::DeviceType::CPU));
    CHECK(compat::autocast_dtype(c10::DeviceType::CPU) == at::kBFloat16);
    // A matmul under CPU autocast runs in bf16.
    auto y = torch::mm(torch::randn({4, 4}), torch::randn({4, 4}));
    CHECK(y.scalar_type() == at::kBFloat16);
  }
  CHECK(compat::autocast_enabled(c10::DeviceType::CPU) == before);
  CHECK(compat::autocast_dtype(c10::DeviceType::CPU) == before_dtype);
  CHECK(torch::mm(torch::randn({4, 4}), torch::randn({4, 4})).scalar_type() == at::kFloat);
}

TEST_CASE("torch_version reports the LibTorch this build uses", "[compat]") {
  CHECK(compat::torch_version() == std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
                                       "." + std::to_string(TORCH_VERSION_PATCH));
}

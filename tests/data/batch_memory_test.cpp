#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/core/error.h"
#include "medsam/data/augment.h"
#include "medsam/data/batch_memory.h"

using namespace medsam::data;

TEST_CASE("batch tensors reuse the blocks of freed batches of the same size", "[data][batch_memory]") {
  const auto before = batch_memory_stats();
  void* first = nullptr;
  {
    auto t = empty_batch_tensor({2, 3, 40, 40}, at::kFloat, false);
    REQUIRE(t.is_contiguous());
    REQUIRE(t.sizes() == torch::IntArrayRef({2, 3, 40, 40}));
    first = t.data_ptr();
    t.fill_(1.5f);  // usable memory
    CHECK(t.sum().item<float>() == Approx(1.5 * 2 * 3 * 40 * 40));
  }
  // The block came back on release: the next batch of that size gets it, not a fresh one.
  auto again = empty_batch_tensor({2, 3, 40, 40}, at::kFloat, false);
  CHECK(again.data_ptr() == first);
  const auto after = batch_memory_stats();
  CHECK(after.fresh == before.fresh + 1);
  CHECK(after.reused == before.reused + 1);
  // A block still in use is never handed out twice.
  auto other = empty_batch_tensor({2, 3, 40, 40}, at::kFloat, false);
  CHECK(other.data_ptr() != again.data_ptr());
  // Views keep the block alive after the batch tensor itself is gone.
  auto view = other[1];
  other = at::Tensor();
  view.fill_(2.f);
  auto third = empty_batch_tensor({2, 3, 40, 40}, at::kFloat, false);
  CHECK(third.data_ptr() != view.data_ptr());
}

TEST_CASE("pinned batch memory without CUDA is refused with a message", "[data][batch_memory]") {
  if (torch::cuda::is_available()) return;  // a GPU machine: pinning works there (issue 11's checks)
  CHECK_THROWS_WITH(empty_batch_tensor({4}, at::kFloat, true), Catch::Contains("no usable CUDA"));
}

TEST_CASE("writing the float image into a batch equals to_unit_float, grey to three planes", "[data][augment]") {
  torch::manual_seed(9);
  AugmentParams p;
  p.contrast = 0.9, p.brightness = -0.05, p.gamma = 1.1;
  for (const int channels : {1, 3}) {
    const auto bytes = torch::randint(0, 256, {channels, 24, 24}, torch::kByte);
    auto out = torch::empty({3, 24, 24});
    write_unit_float(unit_table(p, bytes, 3, 240), bytes, out.data_ptr<float>());
    CHECK(out.equal(to_unit_float(p, bytes, 3, 240).contiguous()));
  }
}

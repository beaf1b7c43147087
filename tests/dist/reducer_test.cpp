// Bucket assignment and the world-of-one paths (no processes needed).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/dist/gradient_reducer.h"
#include "medsam/dist/module_sync.h"
#include "medsam/dist/process_group.h"

using namespace medsam::dist;

TEST_CASE("buckets are filled from the last parameter backwards, the first one small", "[dist][reducer]") {
  // fp32 sizes: 100 B, 400 B, 40 B, 400 B, 800 B (parameter order as registered).
  std::vector<at::Tensor> params = {torch::zeros({25}), torch::zeros({100}), torch::zeros({10}),
                                    torch::zeros({100}), torch::zeros({200})};
  ReducerOptions options;
  options.first_bucket_bytes = 500;  // parameter 4 alone (800 B) already exceeds it
  options.bucket_bytes = 800;        // 3 + 2 + 1 = 840 B, then 0 alone
  const auto buckets = assign_buckets(params, options);
  REQUIRE(buckets.size() == 3);
  CHECK(buckets[0] == std::vector<std::size_t>{4});
  CHECK(buckets[1] == std::vector<std::size_t>{3, 2, 1});
  CHECK(buckets[2] == std::vector<std::size_t>{0});
}

TEST_CASE("buckets can follow an observed gradient order", "[dist][reducer]") {
  std::vector<at::Tensor> params = {torch::zeros({25}), torch::zeros({100}), torch::zeros({10})};
  ReducerOptions options;
  options.first_bucket_bytes = 100;
  options.bucket_bytes = 1000;
  const auto buckets = assign_buckets(params, {1, 0, 2}, options);
  REQUIRE(buckets.size() == 2);
  CHECK(buckets[0] == std::vector<std::size_t>{1});  // 400 B >= 100 B: closed at once
  CHECK(buckets[1] == std::vector<std::size_t>{0, 2});
}

TEST_CASE("buckets never mix dtypes", "[dist][reducer]") {
  std::vector<at::Tensor> params = {torch::zeros({4}), torch::zeros({4}, torch::kDouble), torch::zeros({4}),
                                    torch::zeros({4}, torch::kDouble)};
  ReducerOptions options;  // 25 MiB: everything of one dtype fits one bucket
  const auto buckets = assign_buckets(params, options);
  REQUIRE(buckets.size() == 2);
  CHECK(buckets[0] == std::vector<std::size_t>{3, 1});  // double, met first in the backwards walk
  CHECK(buckets[1] == std::vector<std::size_t>{2, 0});
}

TEST_CASE("a group of one has no backend and every collective is the identity", "[dist][reducer]") {
  auto group = ProcessGroup::single();
  CHECK(group->size() == 1);
  CHECK(group->rank() == 0);
  CHECK(group->backend_name() == "none");
  auto t = torch::arange(4.0);
  group->all_reduce(t);
  group->broadcast(t, 0);
  group->barrier();
  CHECK(torch::equal(t, torch::arange(4.0)));
  CHECK(group->all_reduce_scalars({1.5, -2.0}) == std::vector<double>{1.5, -2.0});
  torch::nn::Linear linear(3, 2);
  const auto before = linear->weight.clone();
  broadcast_module_state(*group, *linear);
  CHECK(torch::equal(before, linear->weight));
}

TEST_CASE("the reducer of a group of one leaves gradients as backward made them", "[dist][reducer]") {
  torch::manual_seed(0);
  torch::nn::Linear linear(3, 2);
  auto reducer = make_gradient_reducer(ProcessGroup::single(), linear->parameters());
  linear(torch::randn({4, 3})).sum().backward();
  const auto grad = linear->weight.grad().clone();
  {
    NoSyncScope no_sync(*reducer);
    CHECK_FALSE(reducer->sync());
  }
  CHECK(reducer->sync());
  reducer->finalize();
  CHECK(torch::equal(grad, linear->weight.grad()));
}

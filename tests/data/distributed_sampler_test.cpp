#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <set>

#include "medsam/core/error.h"
#include "medsam/data/distributed_sampler.h"

using namespace medsam::data;

namespace {
SamplerOptions opts(int rank, int world, bool pad = true, std::uint64_t seed = 42) {
  SamplerOptions o;
  o.rank = rank;
  o.world_size = world;
  o.seed = seed;
  o.pad = pad;
  return o;
}
}  // namespace

TEST_CASE("ranks see disjoint shares whose union is the epoch", "[data][sampler]") {
  constexpr int kN = 103, kWorld = 4;  // 103 = 4 * 25 + 3: uneven on purpose
  SECTION("drop the tail: disjoint, equal, 100 of 103") {
    std::multiset<std::int64_t> seen;
    for (int r = 0; r < kWorld; ++r) {
      const auto mine = DistributedSampler(kN, opts(r, kWorld, false)).rank_indices(5);
      CHECK(mine.size() == 25);
      seen.insert(mine.begin(), mine.end());
    }
    CHECK(seen.size() == 100);
    CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == 100);  // nothing twice
  }
  SECTION("pad by repeating: every sample, equal lengths, only the 1 padded sample repeats") {
    std::multiset<std::int64_t> seen;
    for (int r = 0; r < kWorld; ++r) {
      const auto mine = DistributedSampler(kN, opts(r, kWorld, true)).rank_indices(5);
      CHECK(mine.size() == 26);  // ceil(103 / 4)
      seen.insert(mine.begin(), mine.end());
    }
    CHECK(seen.size() == 104);
    CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == kN);  // the union is the epoch
  }
}

TEST_CASE("the epoch order is a function of (seed, epoch) only", "[data][sampler]") {
  const DistributedSampler a(50, opts(1, 3)), b(50, opts(1, 3));
  CHECK(a.rank_indices(7) == b.rank_indices(7));
  CHECK(a.rank_indices(7) != a.rank_indices(8));  // reshuffled every epoch
  CHECK(a.rank_indices(7) != DistributedSampler(50, opts(1, 3, true, 43)).rank_indices(7));
  auto order = a.epoch_order(7);
  std::sort(order.begin(), order.end());
  std::vector<std::int64_t> iota(50);
  std::iota(iota.begin(), iota.end(), 0);
  CHECK(order == iota);  // a permutation
  SamplerOptions plain = opts(0, 1);
  plain.shuffle = false;
  CHECK(DistributedSampler(50, plain).epoch_order(3) == iota);
}

TEST_CASE("a saved position belongs to its seed and world size", "[data][sampler]") {
  const DistributedSampler s(40, opts(0, 2));
  auto p = s.start_of(3);
  p.index = 7;
  CHECK_NOTHROW(s.check(p));
  CHECK_THROWS_AS(DistributedSampler(40, opts(0, 4)).check(p), medsam::Error);
  CHECK_THROWS_AS(DistributedSampler(40, opts(0, 2, true, 1)).check(p), medsam::Error);
  p.index = 21;  // 20 samples per rank
  CHECK_THROWS_AS(s.check(p), medsam::Error);
}

TEST_CASE("weighted epochs draw groups in the configured ratio", "[data][sampler]") {
  // 900 items of group A and 100 of group B; ratio A:B = 1:3 -> weights 1/900 and 3/100.
  constexpr int kA = 900, kB = 100;
  SamplerOptions o = opts(0, 1);
  o.weights.assign(kA, 1.0 / kA);
  o.weights.resize(kA + kB, 3.0 / kB);
  o.epoch_samples = 20000;
  const DistributedSampler s(kA + kB, o);
  const auto order = s.epoch_order(0);
  REQUIRE(order.size() == 20000);
  const auto b = std::count_if(order.begin(), order.end(), [](std::int64_t i) { return i >= kA; });
  // Expected share of B 0.75; binomial sd sqrt(0.75 * 0.25 / 20000) = 0.0031.
  CHECK(std::abs(static_cast<double>(b) / 20000 - 0.75) < 0.015);
  CHECK(s.epoch_order(0) == order);
  CHECK(s.epoch_order(1) != order);
  CHECK(s.num_samples() == 20000);
}

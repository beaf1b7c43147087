// The exact distance transform against brute force on anisotropic grids.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

#include "medsam/eval/distance_transform.h"

using namespace medsam::eval;

namespace {
std::vector<double> brute_force(const std::vector<std::uint8_t>& f, const GridShape& g, const std::array<double, 3>& s) {
  std::vector<double> out(f.size(), std::numeric_limits<double>::infinity());
  for (int64_t i = 0; i < g.count(); ++i)
    for (int64_t j = 0; j < g.count(); ++j) {
      if (!f[j]) continue;
      double d2 = 0;
      int64_t a = i, b = j;
      for (int axis = 2; axis >= 0; --axis) {
        const double d = s[axis] * static_cast<double>(a % g.size[axis] - b % g.size[axis]);
        d2 += d * d;
        a /= g.size[axis];
        b /= g.size[axis];
      }
      out[i] = std::min(out[i], d2);
    }
  return out;
}
}  // namespace

TEST_CASE("squared distance transform equals brute force with anisotropic spacing in 2D and 3D", "[eval]") {
  std::mt19937 rng(7);
  for (const GridShape g : {GridShape{{1, 17, 23}}, GridShape{{9, 11, 13}}}) {
    for (double density : {0.01, 0.2}) {
      std::vector<std::uint8_t> f(g.count());
      std::bernoulli_distribution pick(density);
      for (auto& x : f) x = pick(rng);
      f[5] = 1;
      const std::array<double, 3> s{2.5, 0.7, 1.3};
      const auto fast = squared_distance_transform(f, g, s);
      const auto slow = brute_force(f, g, s);
      for (size_t i = 0; i < f.size(); ++i) REQUIRE(fast[i] == Approx(slow[i]).epsilon(1e-12));
    }
  }
}

TEST_CASE("squared distance transform is +inf everywhere without features", "[eval]") {
  const GridShape g{{2, 3, 4}};
  const auto d = squared_distance_transform(std::vector<std::uint8_t>(g.count(), 0), g, {1, 1, 1});
  for (double x : d) CHECK(std::isinf(x));
}

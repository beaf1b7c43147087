// DSC and NSD on cases small enough to work out by hand. Surfels sit on the corners of the voxel
// grid; a 2D corner touching one inside pixel carries half a pixel diagonal of contour, a corner on a
// straight edge one pixel side (see medsam/eval/surfel_tables.h).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

#include "medsam/eval/dice.h"
#include "medsam/eval/mask_scores.h"
#include "medsam/eval/surface_distance.h"

using namespace medsam::eval;

namespace {
at::Tensor square(int64_t h, int64_t w, int64_t y0, int64_t x0, int64_t side) {
  at::Tensor m = torch::zeros({h, w}, torch::kBool);
  m.slice(0, y0, y0 + side).slice(1, x0, x0 + side).fill_(true);
  return m;
}
double sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
}  // namespace

TEST_CASE("identical masks score DSC 1 and NSD 1 in 2D and 3D", "[eval]") {
  const at::Tensor m2 = square(20, 20, 3, 4, 7);
  CHECK(dice(m2, m2) == 1.0);
  CHECK(normalized_surface_dice(m2, m2, {0.5, 0.8}, 0.0) == 1.0);
  at::Tensor m3 = torch::zeros({6, 10, 10}, torch::kBool);
  m3.slice(0, 1, 4).slice(1, 2, 7).slice(2, 3, 9).fill_(true);
  CHECK(dice(m3, m3) == 1.0);
  CHECK(normalized_surface_dice(m3, m3, {5.0, 0.7, 0.7}, 0.0) == 1.0);
}

TEST_CASE("both masks empty: DSC and NSD are 1 by default, NaN on request, NaN from the raw NSD", "[eval]") {
  const at::Tensor e = torch::zeros({8, 8}, torch::kUInt8);
  CHECK(dice(e, e) == 1.0);
  CHECK(std::isnan(dice(e, e, BothEmpty::kNaN)));
  CHECK(std::isnan(normalized_surface_dice(e, e, {1, 1})));  // 0 / 0, as the DeepMind package
  const auto one = score_masks(e, e, {1, 1});
  CHECK(one.dsc == 1.0);
  CHECK(one.nsd == 1.0);
  MetricOptions nan_opts;
  nan_opts.both_empty = BothEmpty::kNaN;
  const auto nan = score_masks(e, e, {1, 1}, nan_opts);
  CHECK(std::isnan(nan.dsc));
  CHECK(std::isnan(nan.nsd));
}

TEST_CASE("one empty mask scores DSC 0 and NSD 0 either way round", "[eval]") {
  const at::Tensor e = torch::zeros({8, 8}, torch::kBool);
  const at::Tensor m = square(8, 8, 2, 2, 3);
  CHECK(dice(m, e) == 0.0);
  CHECK(dice(e, m) == 0.0);
  CHECK(normalized_surface_dice(m, e, {1, 1}, 100.0) == 0.0);
  CHECK(normalized_surface_dice(e, m, {1, 1}, 100.0) == 0.0);
  const auto d = compute_surface_distances(m, e, {1, 1});  // gt = m
  CHECK(d.surfel_areas_pred.empty());
  REQUIRE(d.distances_gt_to_pred.size() == 12);  // the ring of corners around a 3x3 square
  CHECK(std::isinf(d.distances_gt_to_pred[0]));
}

TEST_CASE("a single pixel has 4 corner surfels of half a diagonal each", "[eval]") {
  const at::Tensor m = square(5, 5, 2, 2, 1);
  const auto d = compute_surface_distances(m, m, {1, 1});
  REQUIRE(d.surfel_areas_gt.size() == 4);
  CHECK(sum(d.surfel_areas_gt) == Approx(4 * std::sqrt(2.0) / 2));
}

TEST_CASE("a single pixel shifted by 3 px overlaps half its surface at tolerance 2", "[eval]") {
  // gt corners at columns 2, 3; pred corners at columns 5, 6. Only column 3 (gt) and column 5 (pred)
  // are within 2 px of the other: half of each surface.
  const at::Tensor gt = square(5, 10, 2, 2, 1), pred = square(5, 10, 2, 5, 1);
  CHECK(normalized_surface_dice(pred, gt, {1, 1}, 1.9) == 0.0);
  CHECK(normalized_surface_dice(pred, gt, {1, 1}, 2.0) == Approx(0.5));
  CHECK(normalized_surface_dice(pred, gt, {1, 1}, 3.0) == Approx(1.0));
  CHECK(dice(pred, gt) == 0.0);
}

TEST_CASE("a single voxel in 3D has 8 corner triangles of area |(s1 s2, s0 s2, s0 s1)| / 8", "[eval]") {
  at::Tensor m = torch::zeros({3, 3, 3}, torch::kBool);
  m[1][1][1] = true;
  const auto d = compute_surface_distances(m, m, {3, 1, 1});
  REQUIRE(d.surfel_areas_gt.size() == 8);
  CHECK(sum(d.surfel_areas_gt) == Approx(std::sqrt(1.0 + 9 + 9)));
}

TEST_CASE("anisotropic spacing: a one-pixel shift along a 2 mm axis needs tolerance 2 mm", "[eval]") {
  // Spacing 2 mm along rows, 1 mm along columns. Shifted one row: the shared corner row is at distance 0,
  // the other gt corner row 2 mm from pred's nearest corner (both rows' corners have equal length).
  const at::Tensor gt = square(6, 6, 2, 2, 1), down = square(6, 6, 3, 2, 1), right = square(6, 6, 2, 3, 1);
  CHECK(normalized_surface_dice(down, gt, {2.0, 1.0}, 1.9) == Approx(0.5));
  CHECK(normalized_surface_dice(down, gt, {2.0, 1.0}, 2.0) == Approx(1.0));
  // The same shift along the 1 mm axis is within 1.9 mm.
  CHECK(normalized_surface_dice(right, gt, {2.0, 1.0}, 1.9) == Approx(1.0));
  // In 3D, a voxel shifted along a 3 mm axis: half of each surface at 2 mm, all of it at 3 mm.
  at::Tensor a = torch::zeros({4, 3, 3}, torch::kBool), b = torch::zeros({4, 3, 3}, torch::kBool);
  a[1][1][1] = true;
  b[2][1][1] = true;
  CHECK(normalized_surface_dice(b, a, {3.0, 1.0, 1.0}, 2.0) == Approx(0.5));
  CHECK(normalized_surface_dice(b, a, {3.0, 1.0, 1.0}, 3.0) == Approx(1.0));
}

TEST_CASE("a box's surface is its faces, bevelled edges and corner triangles at any spacing", "[eval]") {
  // n0 x n1 x n2 voxels. Corners: (n1-1)(n2-1) flat s1·s2 squares on each axis-0 face (and likewise),
  // (n0-1) bevels of s0 · |(s1, s2)| / 2 on each of the 4 edges along axis 0 (and likewise), and 8 corner
  // triangles of |(s1 s2, s0 s2, s0 s1)| / 8.
  const int64_t n0 = 3, n1 = 4, n2 = 6;
  const double s0 = 2.5, s1 = 0.6, s2 = 1.1;
  at::Tensor m = torch::zeros({n0 + 2, n1 + 2, n2 + 2}, torch::kBool);
  m.slice(0, 1, 1 + n0).slice(1, 1, 1 + n1).slice(2, 1, 1 + n2).fill_(true);
  const double faces = 2 * ((n1 - 1) * (n2 - 1) * s1 * s2 + (n0 - 1) * (n2 - 1) * s0 * s2 + (n0 - 1) * (n1 - 1) * s0 * s1);
  const double edges = 4 * ((n0 - 1) * s0 * std::hypot(s1, s2) / 2 + (n1 - 1) * s1 * std::hypot(s0, s2) / 2 +
                            (n2 - 1) * s2 * std::hypot(s0, s1) / 2);
  const double corners = 8 * std::sqrt(std::pow(s1 * s2, 2) + std::pow(s0 * s2, 2) + std::pow(s0 * s1, 2)) / 8;
  const auto d = compute_surface_distances(m, m, {s0, s1, s2});
  CHECK(sum(d.surfel_areas_gt) == Approx(faces + edges + corners));
}

TEST_CASE("a square shifted by 2 px is fully within tolerance 2 and not within 1.9", "[eval]") {
  // Every corner of one square's ring is at most the shift away from the other ring (straight across
  // for the side edges, along the shared rows for the top and bottom edges).
  const at::Tensor gt = square(20, 20, 5, 5, 10), pred = square(20, 20, 5, 7, 10);
  CHECK(normalized_surface_dice(pred, gt, {1, 1}, 2.0) == Approx(1.0));
  CHECK(normalized_surface_dice(pred, gt, {1, 1}, 1.9) < 1.0);
  CHECK(dice(pred, gt) == Approx(2.0 * 80 / 200));
}

TEST_CASE("two disjoint squares 6 px apart: NSD 0 below 6, the facing edges at 6, all at 10", "[eval]") {
  // 4x4 squares, gt pixel columns 2..5 (corner columns 2..6), pred pixel columns 12..15 (corner
  // columns 12..16): the facing corner columns are 6 px apart, the far ones 10. Each ring: 4 corner surfels of
  // sqrt(2)/2 and 12 edge surfels of 1 (total 12 + 2 sqrt 2). At 6 px only the facing columns of
  // corners (2 of sqrt(2)/2 and 3 of 1 on each side) are within tolerance.
  const at::Tensor gt = square(8, 20, 2, 2, 4), pred = square(8, 20, 2, 12, 4);
  const double ring = 12 + 2 * std::sqrt(2.0), facing = 3 + std::sqrt(2.0);
  CHECK(normalized_surface_dice(pred, gt, {1, 1}, 5.9) == 0.0);
  CHECK(normalized_surface_dice(pred, gt, {1, 1}, 6.0) == Approx(2 * facing / (2 * ring)));
  CHECK(normalized_surface_dice(pred, gt, {1, 1}, 10.0) == Approx(1.0));
}

TEST_CASE("a sphere shifted by one voxel is within tolerance 1 mm everywhere", "[eval]") {
  at::Tensor grid = torch::arange(24, torch::kFloat) - 11.5;
  auto zz = grid.view({24, 1, 1}), yy = grid.view({1, 24, 1}), xx = grid.view({1, 1, 24});
  const at::Tensor sphere = (zz * zz + yy * yy + xx * xx) <= 64;
  const at::Tensor shifted = torch::roll(sphere, {1}, {2});
  CHECK(normalized_surface_dice(shifted, sphere, {1, 1, 1}, 1.0) == Approx(1.0));
  const double tight = normalized_surface_dice(shifted, sphere, {1, 1, 1}, 0.5);
  CHECK(tight > 0.0);
  CHECK(tight < 1.0);
}

TEST_CASE("the CVPR 2024 rule zeroes NSD when DSC <= 0.2", "[eval]") {
  // DSC 0 but NSD 0.5 at tolerance 2 (the shifted pixel above).
  const at::Tensor gt = square(5, 10, 2, 2, 1), pred = square(5, 10, 2, 5, 1);
  MetricOptions plain;
  CHECK(score_masks(pred, gt, {1, 1}, plain).nsd == Approx(0.5));
  MetricOptions cvpr;
  cvpr.cvpr2024 = true;
  CHECK(score_masks(pred, gt, {1, 1}, cvpr).nsd == 0.0);
}

TEST_CASE("mismatched shapes and bad spacing are errors naming the problem", "[eval]") {
  const at::Tensor a = torch::zeros({4, 4}), b = torch::zeros({4, 5});
  CHECK_THROWS_WITH(dice(a, b), Catch::Contains("4x4 vs pred 4x5") || Catch::Contains("pred 4x4 vs gt 4x5"));
  CHECK_THROWS_WITH(normalized_surface_dice(a, a, {1, 1, 1}), Catch::Contains("3 spacing values for 2D"));
  CHECK_THROWS_WITH(normalized_surface_dice(a, a, {1, 0}), Catch::Contains("spacing must be positive"));
}

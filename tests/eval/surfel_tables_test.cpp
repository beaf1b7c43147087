// The derived surfel tables against areas worked out by hand from the geometry of the cell.
#include <catch2/catch.hpp>

#include <cmath>

#include "medsam/eval/surfel_tables.h"

using namespace medsam::eval;

TEST_CASE("2D contour lengths: half diagonals at corners, one spacing across, two half diagonals at saddles",
          "[eval]") {
  // Spacing 2 mm along axis 0 (rows), 1 mm along axis 1: half diagonal = sqrt(4 + 1) / 2.
  const auto t = contour_length_table(2.0, 1.0);
  const double half_diag = std::sqrt(5.0) / 2;
  CHECK(t[0b0000] == 0);
  CHECK(t[0b1111] == 0);
  for (int code : {0b0001, 0b0010, 0b0100, 0b1000, 0b1110, 0b1101, 0b1011, 0b0111}) CHECK(t[code] == Approx(half_diag));
  CHECK(t[0b0011] == Approx(1.0));  // bottom row inside: contour runs along axis 1
  CHECK(t[0b1100] == Approx(1.0));
  CHECK(t[0b0101] == Approx(2.0));  // right column inside: contour runs along axis 0
  CHECK(t[0b1010] == Approx(2.0));
  CHECK(t[0b0110] == Approx(2 * half_diag));
  CHECK(t[0b1001] == Approx(2 * half_diag));
}

TEST_CASE("3D surface areas of corner, edge, face and hexagon cells match their geometry", "[eval]") {
  const std::array<double, 3> s{3.0, 2.0, 0.5};
  const auto t = surface_area_table(s);
  CHECK(t[0] == 0);
  CHECK(t[255] == 0);
  // One voxel (offset (1,1,1)): triangle through three edge midpoints, index-space half cross product
  // (1/8, 1/8, 1/8), scaled to (s1 s2, s0 s2, s0 s1) / 8.
  const double corner = std::sqrt(std::pow(s[1] * s[2], 2) + std::pow(s[0] * s[2], 2) + std::pow(s[0] * s[1], 2)) / 8;
  CHECK(t[1] == Approx(corner));
  CHECK(t[128] == Approx(corner));
  // Two voxels along axis 2 (offsets (1,1,0), (1,1,1)): a bevel of length s2 and width
  // sqrt((s0/2)² + (s1/2)²).
  CHECK(t[0b00000011] == Approx(s[2] * 0.5 * std::hypot(s[0], s[1])));
  // Four voxels of the a = 1 layer: a flat s1 × s2 rectangle at mid-height.
  CHECK(t[0b00001111] == Approx(s[1] * s[2]));
  // A voxel and its three neighbours (offsets (1,1,1), (1,1,0), (1,0,1), (0,1,1)): the regular
  // hexagon of side sqrt(2)/2 at unit spacing, area 3 sqrt(3) / 4.
  CHECK(surface_area_table({1, 1, 1})[0b00010111] == Approx(3 * std::sqrt(3.0) / 4));
}

TEST_CASE("3D surface areas are the same for a code and its complement", "[eval]") {
  const auto t = surface_area_table({1.5, 0.7, 2.2});
  for (int code = 0; code < 256; ++code) CHECK(t[code] == Approx(t[255 - code]));
}

TEST_CASE("a 3D cell whose two layers repeat a 2D code holds a wall of 2D length times the layer spacing",
          "[eval]") {
  // This is why a 3D volume of identical slices scores like its 2D slice away from the end caps.
  const std::array<double, 3> s{4.0, 0.8, 1.3};
  const auto t3 = surface_area_table(s);
  const auto t2 = contour_length_table(s[1], s[2]);
  for (int code2 = 0; code2 < 16; ++code2) {
    const int code3 = (code2 << 4) | code2;  // layer a = 0 in the high nibble, a = 1 in the low one
    INFO("2D code " << code2);
    CHECK(t3[code3] == Approx(t2[code2] * s[0]));
  }
}

// Exact Euclidean distance transform on a grid with anisotropic spacing.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace medsam::eval {

// A dense grid of up to 3 axes, row-major (axis 2 fastest). 2D grids use size[0] == 1.
struct GridShape {
  std::array<int64_t, 3> size{1, 1, 1};
  int64_t count() const { return size[0] * size[1] * size[2]; }
};

// For every grid point, the squared distance in mm² to the nearest point where `feature` is non-zero,
// `spacing` in mm per axis; +inf everywhere when there is no feature point. Exact (Felzenszwalb &
// Huttenlocher's separable lower envelope of parabolas, one pass per axis, parallel over lines).
// ref: scipy.ndimage.distance_transform_edt(~feature, sampling=spacing) (squared)
std::vector<double> squared_distance_transform(const std::vector<std::uint8_t>& feature, const GridShape& shape,
                                               const std::array<double, 3>& spacing);

}  // namespace medsam::eval

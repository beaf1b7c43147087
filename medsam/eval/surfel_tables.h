// Size of the surface element ("surfel") inside one cell of the corner grid, per neighbourhood code,
// as the DeepMind surface-distance package defines it: a cell is the 2×2 (2D) or 2×2×2 (3D) block
// of pixels/voxels around a grid corner, its code says which of them are inside the mask, and the
// surfel is the marching-squares contour / marching-cubes surface through the midpoints of the
// cell's edges that separate inside from outside.
//
// Code layout (the reference's correlation kernels): the pixel at offset (a, b) ∈ {0,1}² sets bit
// 3 − (2a + b); the voxel at offset (a, b, c) ∈ {0,1}³ sets bit 7 − (4a + 2b + c). Axis 0 is the
// tensor's first axis (z of a (z, y, x) volume).
#pragma once

#include <array>

namespace medsam::eval {

// Contour length in mm inside a 2×2 cell for each of the 16 codes; spacing in mm along axes 0, 1.
// ref: surface_distance/lookup_tables.py create_table_neighbour_code_to_contour_length
std::array<double, 16> contour_length_table(double spacing0, double spacing1);

// Surface area in mm² inside a 2×2×2 cell for each of the 256 codes; spacing in mm along axes 0, 1, 2.
// ref: surface_distance/lookup_tables.py create_table_neighbour_code_to_surface_area
std::array<double, 256> surface_area_table(const std::array<double, 3>& spacing);

}  // namespace medsam::eval

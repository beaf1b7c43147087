// Resampling one square plane through an affine map, on raw pixels: the geometry of training
// augmentation. Works in the stored dtype (uint8 images, int32 label maps) so a 1024² sample is
// moved once, before it becomes float (the ATen route — flip, rot90, affine_grid, grid_sampler on
// float — cost ~4x more per sample, measured in docs/benchmarks.md).
#pragma once

#include <cstdint>

namespace medsam::data {

// Where output pixel (x, y) reads from, in pixel-centre coordinates measured from the frame's centre
// (c = index + 0.5 - S/2): src = A * (out - shift), A = {a, b; c, d} (x along the width, y along the
// height). For an S×S frame this is exactly the map grid_sampler(align_corners=false) applies with
// theta = {a, b, -(a sx + b sy)·2/S; c, d, -(c sx + d sy)·2/S}.
struct PlaneAffine {
  double a = 1, b = 0, c = 0, d = 1;
  double shift_x = 0, shift_y = 0;
};

// Bilinear resample of an S×S uint8 plane, rounded to nearest (halves up); neighbours outside the frame read
// `fill` (grid_sampler's zero padding, in the units of the plane).
void warp_bilinear(const std::uint8_t* src, std::uint8_t* dst, std::int64_t size, const PlaneAffine& m,
                   std::uint8_t fill);

// Nearest-neighbour resample (halves round up; grid_sampler rounds them to even: only an exact .5
// source position, which the random zoom practically never produces, can differ); outside reads `fill`.
// With integer maps (flips, quarter turns, integer shifts) this is an exact pixel permutation.
void warp_nearest(const std::uint8_t* src, std::uint8_t* dst, std::int64_t size, const PlaneAffine& m,
                  std::uint8_t fill);
void warp_nearest(const std::int32_t* src, std::int32_t* dst, std::int64_t size, const PlaneAffine& m,
                  std::int32_t fill);

}  // namespace medsam::data

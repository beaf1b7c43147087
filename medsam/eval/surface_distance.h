// Surface distances between two binary masks and the normalised surface Dice (NSD) built on them,
// following the DeepMind surface-distance package that MedSAM's evaluation uses.
//
// Masks are at::Tensors of shape (H, W) or (Z, Y, X), any dtype, non-zero = inside; `spacing_mm`
// gives the voxel size along each tensor axis in that order (for a (z, y, x) volume: {z, y, x}).
#pragma once

#include <ATen/Tensor.h>

#include <vector>

namespace medsam::eval {

// Every surfel of each mask with its area (3D, mm²) or length (2D, mm) and its distance in mm to the
// nearest surfel of the other mask (+inf when the other mask has none). Surfels live on the grid of
// voxel corners: one per corner whose 2×2(×2) neighbourhood is neither all outside nor all inside.
struct SurfaceDistances {
  std::vector<double> distances_gt_to_pred;
  std::vector<double> distances_pred_to_gt;
  std::vector<double> surfel_areas_gt;
  std::vector<double> surfel_areas_pred;
};

// Throws Error when shapes differ, the masks are not 2D/3D, or spacing has the wrong length or a
// non-positive value. Empty lists when both masks are empty.
// ref: surface_distance/metrics.py compute_surface_distances
SurfaceDistances compute_surface_distances(const at::Tensor& mask_gt, const at::Tensor& mask_pred,
                                           const std::vector<double>& spacing_mm);

// (gt surfel area within tolerance of pred + pred surfel area within tolerance of gt) / total area.
// NaN when neither mask has a surface (both empty), 0 when exactly one has none.
// ref: surface_distance/metrics.py compute_surface_dice_at_tolerance
double surface_dice_at_tolerance(const SurfaceDistances& distances, double tolerance_mm);

// compute_surface_distances + surface_dice_at_tolerance. Symmetric in its two masks.
double normalized_surface_dice(const at::Tensor& pred, const at::Tensor& gt, const std::vector<double>& spacing_mm,
                               double tolerance_mm = 2.0);

}  // namespace medsam::eval

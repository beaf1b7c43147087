#include "medsam/eval/surface_distance.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include "medsam/core/error.h"
#include "medsam/eval/distance_transform.h"
#include "medsam/eval/surfel_tables.h"

namespace medsam::eval {

namespace {

// Masks cropped to the bounding box of their union, as 3-axis grids (2D: axis 0 of size 1).
struct CroppedPair {
  GridShape shape;  // voxels in the box
  std::vector<std::uint8_t> gt, pred;
};

// ref: surface_distance/metrics.py _compute_bounding_box, _crop_to_bounding_box
bool crop_to_union(const at::Tensor& gt, const at::Tensor& pred, CroppedPair& out) {
  const at::Tensor both = at::logical_or(gt, pred);
  const at::Tensor nz = both.nonzero();  // (N, dims)
  if (nz.size(0) == 0) return false;
  const int dims = static_cast<int>(gt.dim());
  const at::Tensor lo = std::get<0>(nz.min(0)), hi = std::get<0>(nz.max(0));
  at::Tensor g = gt, p = pred;
  for (int d = 0; d < dims; ++d) {
    const int64_t a = lo[d].item<int64_t>(), b = hi[d].item<int64_t>();
    g = g.narrow(d, a, b - a + 1);
    p = p.narrow(d, a, b - a + 1);
    out.shape.size[3 - dims + d] = b - a + 1;
  }
  g = g.to(at::kByte).contiguous();
  p = p.to(at::kByte).contiguous();
  out.gt.assign(g.data_ptr<std::uint8_t>(), g.data_ptr<std::uint8_t>() + g.numel());
  out.pred.assign(p.data_ptr<std::uint8_t>(), p.data_ptr<std::uint8_t>() + p.numel());
  return true;
}

// Neighbourhood code of every corner of the box's voxels. Corner i along a spatial axis sits between
// voxels i−1 and i (i = 0..n), so the corner grid has n+1 points per spatial axis (axis 0 stays 1 in 2D).
// ref: surface_distance/metrics.py compute_surface_distances (ndimage.correlate with the kernel)
std::vector<std::uint8_t> neighbour_codes(const std::vector<std::uint8_t>& mask, const GridShape& box, int dims,
                                          GridShape& corners) {
  const bool three_d = dims == 3;
  corners.size = {three_d ? box.size[0] + 1 : 1, box.size[1] + 1, box.size[2] + 1};
  std::vector<std::uint8_t> code(corners.count(), 0);
  const int64_t n0 = box.size[0], n1 = box.size[1], n2 = box.size[2];
  const int64_t c1 = corners.size[1], c2 = corners.size[2];
  // Scatter: voxel (z, y, x) is at offset (a, b, c) of the corners (z + 1 − a, y + 1 − b, x + 1 − c).
  for (int64_t z = 0; z < n0; ++z)
    for (int64_t y = 0; y < n1; ++y)
      for (int64_t x = 0; x < n2; ++x) {
        if (!mask[(z * n1 + y) * n2 + x]) continue;
        for (int a = 0; a < (three_d ? 2 : 1); ++a)
          for (int b = 0; b < 2; ++b)
            for (int c = 0; c < 2; ++c) {
              const int bit = three_d ? 7 - (4 * a + 2 * b + c) : 3 - (2 * b + c);
              const int64_t cz = three_d ? z + 1 - a : 0;
              code[(cz * c1 + (y + 1 - b)) * c2 + (x + 1 - c)] |= static_cast<std::uint8_t>(1u << bit);
            }
      }
  return code;
}

}  // namespace

SurfaceDistances compute_surface_distances(const at::Tensor& mask_gt, const at::Tensor& mask_pred,
                                           const std::vector<double>& spacing_mm) {
  const int dims = static_cast<int>(mask_gt.dim());
  if (dims != 2 && dims != 3)
    throw Error(fmt::format("surface distance: masks must be 2D (H, W) or 3D (Z, Y, X), got {} axes", dims));
  if (mask_gt.sizes() != mask_pred.sizes())
    throw Error(fmt::format("surface distance: mask shapes differ: gt {} vs pred {}", fmt::join(mask_gt.sizes(), "x"),
                            fmt::join(mask_pred.sizes(), "x")));
  if (static_cast<int>(spacing_mm.size()) != dims)
    throw Error(fmt::format("surface distance: {} spacing values for {}D masks", spacing_mm.size(), dims));
  for (double s : spacing_mm)
    if (!(s > 0) || !std::isfinite(s))
      throw Error(fmt::format("surface distance: spacing must be positive, got {}", fmt::join(spacing_mm, ",")));

  SurfaceDistances out;
  CroppedPair pair;
  if (!crop_to_union(mask_gt.cpu() != 0, mask_pred.cpu() != 0, pair)) return out;

  std::array<double, 3> spacing{1.0, 1.0, 1.0};
  for (int d = 0; d < dims; ++d) spacing[3 - dims + d] = spacing_mm[d];
  std::vector<double> area_of(256, 0.0);
  if (dims == 3) {
    const auto t = surface_area_table(spacing);
    area_of.assign(t.begin(), t.end());
  } else {
    const auto t = contour_length_table(spacing[1], spacing[2]);
    std::copy(t.begin(), t.end(), area_of.begin());
  }
  const std::uint8_t full = dims == 3 ? 0xFF : 0x0F;

  GridShape corners;
  const auto code_gt = neighbour_codes(pair.gt, pair.shape, dims, corners);
  const auto code_pred = neighbour_codes(pair.pred, pair.shape, dims, corners);
  const int64_t n = corners.count();
  std::vector<std::uint8_t> border_gt(n), border_pred(n);
  bool any_gt = false, any_pred = false;
  for (int64_t i = 0; i < n; ++i) {
    border_gt[i] = code_gt[i] != 0 && code_gt[i] != full;
    border_pred[i] = code_pred[i] != 0 && code_pred[i] != full;
    any_gt |= border_gt[i] != 0;
    any_pred |= border_pred[i] != 0;
  }
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> dist2_gt =
      any_gt ? squared_distance_transform(border_gt, corners, spacing) : std::vector<double>(n, inf);
  const std::vector<double> dist2_pred =
      any_pred ? squared_distance_transform(border_pred, corners, spacing) : std::vector<double>(n, inf);
  for (int64_t i = 0; i < n; ++i) {
    if (border_gt[i]) {
      out.distances_gt_to_pred.push_back(std::sqrt(dist2_pred[i]));
      out.surfel_areas_gt.push_back(area_of[code_gt[i]]);
    }
    if (border_pred[i]) {
      out.distances_pred_to_gt.push_back(std::sqrt(dist2_gt[i]));
      out.surfel_areas_pred.push_back(area_of[code_pred[i]]);
    }
  }
  return out;
}

double surface_dice_at_tolerance(const SurfaceDistances& d, double tolerance_mm) {
  double overlap = 0, total = 0;
  for (size_t i = 0; i < d.surfel_areas_gt.size(); ++i) {
    total += d.surfel_areas_gt[i];
    if (d.distances_gt_to_pred[i] <= tolerance_mm) overlap += d.surfel_areas_gt[i];
  }
  for (size_t i = 0; i < d.surfel_areas_pred.size(); ++i) {
    total += d.surfel_areas_pred[i];
    if (d.distances_pred_to_gt[i] <= tolerance_mm) overlap += d.surfel_areas_pred[i];
  }
  return total > 0 ? overlap / total : std::numeric_limits<double>::quiet_NaN();
}

double normalized_surface_dice(const at::Tensor& pred, const at::Tensor& gt, const std::vector<double>& spacing_mm,
                               double tolerance_mm) {
  return surface_dice_at_tolerance(compute_surface_distances(gt, pred, spacing_mm), tolerance_mm);
}

}  // namespace medsam::eval

#include "medsam/eval/surface_distance.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

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
// The box comes from one projection per axis (any() over the other axes), not from nonzero(): a
// 512x512x300 mask would otherwise materialise hundreds of MB of voxel indices.
bool crop_to_union(const at::Tensor& gt, const at::Tensor& pred, CroppedPair& out) {
  const at::Tensor both = at::logical_or(gt, pred);
  const int dims = static_cast<int>(gt.dim());
  at::Tensor g = gt, p = pred;
  for (int d = 0; d < dims; ++d) {
    at::Tensor projection = both;
    for (int e = dims - 1; e >= 0; --e)
      if (e != d) projection = projection.any(e);
    const at::Tensor nz = projection.nonzero();  // (k, 1) indices along axis d
    if (nz.size(0) == 0) return false;
    const int64_t a = nz.min().item<int64_t>(), b = nz.max().item<int64_t>();
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
// Corner (cz, cy, cx) holds voxel (cz−1+a, cy−1+b, cx−1+c) at bit 7−(4a+2b+c) (2D: 3−(2b+c)), so a 3D
// code is two 2D codes: the slice before the corner in the high nibble, the slice after in the low one.
// Computed slice by slice in parallel from shifted rows (no per-voxel scatter).
// ref: surface_distance/metrics.py compute_surface_distances (ndimage.correlate with the kernel)
std::vector<std::uint8_t> neighbour_codes(const std::vector<std::uint8_t>& mask, const GridShape& box, int dims,
                                          GridShape& corners) {
  const bool three_d = dims == 3;
  const int64_t n0 = box.size[0], n1 = box.size[1], n2 = box.size[2];
  corners.size = {three_d ? n0 + 1 : 1, n1 + 1, n2 + 1};
  const int64_t c1 = corners.size[1], c2 = corners.size[2], plane = c1 * c2;
  // 4-bit code of each voxel slice z at every corner (cy, cx): bit 3−(2b+c) for voxel (cy−1+b, cx−1+c).
  std::vector<std::uint8_t> codes2d(n0 * plane, 0);
  at::parallel_for(0, n0, 1, [&](int64_t begin, int64_t end) {
    for (int64_t z = begin; z < end; ++z) {
      const std::uint8_t* m = mask.data() + z * n1 * n2;
      std::uint8_t* out = codes2d.data() + z * plane;
      for (int64_t cy = 0; cy < c1; ++cy) {
        const std::uint8_t* above = cy > 0 ? m + (cy - 1) * n2 : nullptr;  // voxel row cy−1 (b = 0)
        const std::uint8_t* below = cy < n1 ? m + cy * n2 : nullptr;       // voxel row cy (b = 1)
        std::uint8_t* row = out + cy * c2;
        for (int64_t cx = 0; cx < c2; ++cx) {
          unsigned v = 0;
          if (cx > 0) {  // voxel column cx−1 (c = 0)
            if (above && above[cx - 1]) v |= 8u;
            if (below && below[cx - 1]) v |= 2u;
          }
          if (cx < n2) {  // voxel column cx (c = 1)
            if (above && above[cx]) v |= 4u;
            if (below && below[cx]) v |= 1u;
          }
          row[cx] = static_cast<std::uint8_t>(v);
        }
      }
    }
  });
  if (!three_d) return codes2d;
  std::vector<std::uint8_t> code(corners.count(), 0);
  at::parallel_for(0, corners.size[0], 1, [&](int64_t begin, int64_t end) {
    for (int64_t cz = begin; cz < end; ++cz) {
      const std::uint8_t* before = cz > 0 ? codes2d.data() + (cz - 1) * plane : nullptr;  // a = 0
      const std::uint8_t* after = cz < n0 ? codes2d.data() + cz * plane : nullptr;        // a = 1
      std::uint8_t* out = code.data() + cz * plane;
      for (int64_t i = 0; i < plane; ++i)
        out[i] = static_cast<std::uint8_t>(((before ? before[i] : 0) << 4) | (after ? after[i] : 0));
    }
  });
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

// Removal of small connected components from label maps, as MedSAM cleans its labels before slicing.
// Components are per label value: voxels are connected when they touch and carry the same label.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

namespace medsam::data {

// ref: MedSAM pre_CT_MR.py cc3d.dust(gt, threshold=1000, connectivity=26): sets to 0 every
// 26-connected component (3D, faces + edges + corners) of fewer than `min_voxels` voxels.
// `labels` is (z, y, x) of any integer dtype; returns the removed voxel count. min_voxels <= 1 is a no-op.
std::int64_t remove_small_components_3d(at::Tensor& labels, std::int64_t min_voxels);

// ref: MedSAM pre_CT_MR.py cc3d.dust(gt[z], threshold=100, connectivity=8) for every slice z:
// 8-connected components of fewer than `min_pixels` pixels within each 2D slice. `labels` is (y, x)
// or (z, y, x), modified in place; returns the removed pixel count.
std::int64_t remove_small_components_2d(at::Tensor& labels, std::int64_t min_pixels);

// ref: MedSAM pre_CT_MR.py / utils/pre_grey_rgb.py, the `tumor_id` block: the voxels of label `id` become
// one label per connected component (26-connected for (z, y, x), 8-connected for (y, x)), numbered in
// the raster order of their first voxel as cc3d.connected_components does, k = 1..n getting
// `first_id - 1 + k`. In place on an integer map; returns n (0 when `id` is absent).
std::int64_t label_instances(at::Tensor& labels, std::int64_t id, std::int64_t first_id);

}  // namespace medsam::data

// Whether two volumes lie on the same voxel grid in space (an image and its labels, a prediction and
// its ground truth): the same index in both must be the same point, or voxel-wise pairing mixes
// unrelated places (a label stored x-flipped pairs mirrored voxels; a prediction on another grid
// scores as if it were on this one).
#pragma once

#include <optional>
#include <string>

#include "medsam/io/volume.h"

namespace medsam::io {

// The first difference between a's and b's spacing (relative 1e-3), origin (1e-2 of a voxel, at least
// 0.01 mm) or direction cosines (1e-3), in words naming the axis and both values; nullopt when the
// grids agree. Sizes are the caller's to compare.
std::optional<std::string> geometry_difference(const VolumeGeometry& a, const VolumeGeometry& b);

}  // namespace medsam::io

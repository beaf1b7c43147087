// Reading a label map (prediction or ground truth) with its voxel spacing, whatever the file format.
#pragma once

#include <ATen/Tensor.h>

#include <optional>
#include <string>
#include <vector>

#include "medsam/io/volume.h"

namespace medsam::eval {

struct LabelFile {
  at::Tensor labels;            // (H, W) or (Z, Y, X), int64
  std::vector<double> spacing;  // mm per tensor axis: {y, x} or {z, y, x}
  std::optional<io::VolumeGeometry> geometry;  // volumes: where the grid lies (2D images have none)
};

// True for the extensions read_label_file handles: volumes (.nii, .nii.gz, .mha, .mhd, .nrrd, .nhdr)
// and 2D images (.png, .bmp, .tif, .tiff).
bool is_label_file(const std::string& path);

// The file name without its format extension (".nii.gz" counts as one): how cases are matched.
std::string label_file_stem(const std::string& path);

// Volumes keep the spacing from their header (a volume with one slice becomes 2D); 2D images have no
// geometry and take `fallback_spacing_xy` ({x, y} in mm, ITK order; empty means 1 mm). Multi-channel
// images are accepted only when all channels are equal. NaN or infinite voxels in a float NIfTI are an
// error (read as 0 they would count as background). Throws Error naming the file.
LabelFile read_label_file(const std::string& path, const std::vector<double>& fallback_spacing_xy = {});

}  // namespace medsam::eval

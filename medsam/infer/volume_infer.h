// 3D segmentation from one 3D box by slice-to-slice propagation (LiteMedSAM / MedSAM 3D inference).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>

#include "medsam/infer/predictor.h"

namespace medsam::infer {

struct Box3d {
  double x0, y0, z0, x1, y1, z1;  // voxel coordinates; z0..z1 inclusive slices, x/y as 2D boxes
};

struct PropagationOptions {
  int margin = 5;            // px the neighbour's mask box grows by on each side
  double threshold = 0.5;
};

// volume (Z, Y, X) uint8 (already intensity-normalised) -> (Z, Y, X) uint8 mask, 1 inside.
// Starts at the middle slice of the box with the given 2D box, then walks up and down: each next
// slice's box is the bounding box of the neighbour's prediction grown by `margin` (clamped to the
// image); where the neighbour is empty the given box is used again. Slices outside z0..z1 stay 0.
// `on_slice(done, total)` reports progress. Throws UsageError for a box outside the volume.
at::Tensor segment_volume(Predictor& predictor, const at::Tensor& volume, const Box3d& box,
                          const PropagationOptions& options = {},
                          const std::function<void(int64_t, int64_t)>& on_slice = {});

// Tight bounding box (x0, y0, x1, y1), x1/y1 exclusive, of a (H, W) mask, grown by `margin` and
// clamped to the image; undefined tensor when the mask is empty.
at::Tensor mask_box(const at::Tensor& mask, int margin);

}  // namespace medsam::infer

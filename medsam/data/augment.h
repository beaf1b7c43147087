// Training augmentation (off by default, as in MedSAM): flips, quarter turns, a small zoom/shift and
// intensity jitter. Geometry is applied to the image and the whole label map together, before any
// target mask or prompt is cut from it, so masks, boxes and points stay consistent by construction.
#pragma once

#include <ATen/Tensor.h>

#include "medsam/core/config_data.h"
#include "medsam/data/sample_rng.h"

namespace medsam::data {

struct AugmentParams {
  bool hflip = false, vflip = false;
  int rot90 = 0;                         // quarter turns, counter-clockwise (at::rot90 over (H, W))
  double scale = 1.0, shift_x = 0.0, shift_y = 0.0;  // zoom about the centre; shift in pixels
  double brightness = 0.0, contrast = 1.0, gamma = 1.0;

  bool identity_geometry() const { return !hflip && !vflip && rot90 == 0 && scale == 1.0 && shift_x == 0 && shift_y == 0; }
  bool lossy_geometry() const { return scale != 1.0 || shift_x != 0 || shift_y != 0; }  // may cut objects off
};

// Draws one sample's parameters (fixed draw order: hflip, vflip, rot90, scale, shift x, shift y,
// brightness, contrast, gamma). Returns identity parameters when augmentation is disabled.
AugmentParams draw_augment(const AugmentConfig& config, std::int64_t image_size, SampleRng& rng);

// image (3, S, S) float, labels (S, S) int32, square. Order: flips, rotation, zoom/shift (bilinear for
// the image, nearest for labels, zeros outside). Returns new tensors.
void apply_geometry(const AugmentParams& p, at::Tensor& image, at::Tensor& labels);

// Contrast about the mean, brightness shift, gamma, then clamped to [0, 1].
void apply_intensity(const AugmentParams& p, at::Tensor& image);

}  // namespace medsam::data

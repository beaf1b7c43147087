// Training augmentation (off by default, as in MedSAM): flips, quarter turns, a small zoom/shift and
// intensity jitter. Geometry is applied to the image and the whole label map together, before any
// target mask or prompt is cut from it, so masks, boxes and points stay consistent by construction.
#pragma once

#include <ATen/Tensor.h>

#include <array>
#include <cstdint>

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

// image (C, S, S) uint8 (C = 1 grey or 3), labels (S, S) int32, square. Flips, quarter turns and the
// zoom/shift as ONE resample (flips and turns folded into the affine map): nearest for labels and, when
// there is no zoom/shift, for the image too (an exact permutation); bilinear for the image otherwise,
// rounded back to uint8. Outside the frame the image reads `fill` (the value that normalises to 0:
// grid_sampler's zero padding after min-max) and labels read 0. Returns new tensors.
void apply_geometry(const AugmentParams& p, at::Tensor& image, at::Tensor& labels, std::uint8_t fill = 0);

// The model's float image from the uint8 one: MedSAM's min-max normalisation (x - lo) / max(hi - lo, 1e-8)
// with lo, hi taken BEFORE augmentation, then the intensity jitter (contrast about the mean, brightness,
// clamp to [0, 1], gamma) — all one 256-entry table, so a pixel costs a lookup. (C, S, S) uint8 ->
// (3, S, S) float32; a grey image comes back as its one channel broadcast to three (stride 0).
at::Tensor to_unit_float(const AugmentParams& p, const at::Tensor& image, std::uint8_t lo, std::uint8_t hi);

// to_unit_float in two steps, for writing straight into a batch: the image's 256-entry table (the
// contrast needs the mean of this image), then the lookup into 3 planes of H*W floats at `out` (a grey
// image's one plane is written to all three).
using UnitTable = std::array<float, 256>;
UnitTable unit_table(const AugmentParams& p, const at::Tensor& image, std::uint8_t lo, std::uint8_t hi);
void write_unit_float(const UnitTable& table, const at::Tensor& image, float* out);

}  // namespace medsam::data

// How inference maps raw intensities to the uint8 range the model was trained on: the same
// functions data preparation uses (medsam/data/intensity.h), chosen by modality.
#pragma once

#include <ATen/Tensor.h>

#include <string>

namespace medsam::infer {

struct IntensityOptions {
  std::string modality = "auto";  // auto: uint8 images as they are, anything else percentile-clipped
  std::string window;             // CT only: "L,W" or a preset name (soft-tissue, lung, brain, bone, ...)
  double percentile_low = 0.5, percentile_high = 99.5;
};

// Raw image or volume of any dtype -> uint8 of the same shape. CT: window (default soft tissue) then
// min-max; MR/PET/US/X-ray/other grey: 0.5-99.5 percentile clip of non-zero values; RGB/endoscopy/...
// with values in 0..255: as is. Throws UsageError naming a bad modality or window.
at::Tensor normalize_intensity(const at::Tensor& raw, const IntensityOptions& options);

}  // namespace medsam::infer

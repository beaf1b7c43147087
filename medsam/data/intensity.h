// Intensity normalisation to uint8, as MedSAM prepares its training data; inference reuses it so a
// model sees the same intensities it was trained on.
#pragma once

#include <ATen/Tensor.h>

#include <string>
#include <vector>

namespace medsam::data {

// A CT display window in Hounsfield units.
struct CtWindow {
  double level = 40.0;
  double width = 400.0;
};

struct WindowPreset {
  const char* name;
  CtWindow window;
  const char* note;
};

// soft_tissue (L40 W400, MedSAM's default, = abdomen), lung (L-600 W1500 as in MedSAM's code), brain
// (L40 W80), bone (L400 W1800), mediastinum (L50 W350), liver (L60 W160).
const std::vector<WindowPreset>& ct_window_presets();
// Looks a preset up by name; throws UsageError listing the presets when unknown.
CtWindow ct_window_preset(const std::string& name);

// ref: MedSAM pre_CT_MR.py (modality == "CT"): clip to [L - W/2, L + W/2], then min-max the clipped
// volume to 0..255 and truncate to uint8 (numpy's np.uint8 cast). A constant volume maps to 0.
// Any shape, any real or integer dtype; returns uint8 of the same shape.
at::Tensor normalize_ct_window(const at::Tensor& volume, CtWindow window);

// ref: MedSAM pre_CT_MR.py (MR and other grey modalities): clip to the [low, high] percentiles
// (numpy's linear interpolation) of the voxels > 0, min-max to 0..255, truncate to uint8; voxels that
// were exactly 0 stay 0. A volume without positive voxels maps to all zeros.
at::Tensor normalize_percentile(const at::Tensor& volume, double low_percent = 0.5, double high_percent = 99.5);

// 2D images (ref: MedSAM pre_grey_rgb2D.py): values above 255 -> min-max to 0..255 uint8; already
// 0..255 images are cast unchanged.
at::Tensor normalize_2d_image(const at::Tensor& image);

// Percentile with numpy's default ("linear") interpolation over `values` (any shape, flattened).
double percentile(const at::Tensor& values, double percent);

}  // namespace medsam::data

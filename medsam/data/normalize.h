// The one modality -> intensity rule: which of the normalisations in intensity.h a raw image or volume
// gets. `medsam prep` (data_prep/) and `medsam infer` (medsam/infer/) both call normalize_for, so a
// model sees at inference exactly the intensities it was trained on.
#pragma once

#include <ATen/Tensor.h>

#include <string>

#include "medsam/data/intensity.h"

namespace medsam::data {

struct IntensitySpec {
  // auto: chosen by modality (below); window (CT window); percentile (clip non-zero values to the
  // percentiles); image (MedSAM's 2D rule: 0..255 as is, anything else min-max); none (the data must
  // already be 0..255).
  std::string mode = "auto";
  // A modality name (medsam/data/modality.h) or "auto" (inference only: decide from the data).
  std::string modality = "auto";
  // CT window: "" (soft tissue), a preset name (soft_tissue or soft-tissue, lung, brain, bone, ...),
  // or "L,W". Rejected for modalities other than CT and auto.
  std::string window;
  double percentile_low = 0.5, percentile_high = 99.5;
};

struct NormalizedImage {
  at::Tensor data;  // uint8, the shape of the input
  std::string how;  // e.g. "ct window L40 W400", "percentile 0.5-99.5 of non-zero voxels", "none"
};

// mode auto resolves by modality:
//   ct -> window; endoscopy, dermoscopy, fundus, pathology (colour photographs) -> image;
//   mr, pet, us, xray, oct, mammography, other -> percentile;
//   modality auto -> window when a window is given, else data already in 0..255 integers as is,
//   anything else percentile.
// Throws UsageError naming a bad modality, window or percentile pair, or (mode none) the value range.
NormalizedImage normalize_for(const at::Tensor& raw, const IntensitySpec& spec);

// "" -> soft tissue; a preset name ('-' and '_' both accepted); "L,W" with W > 0. Throws UsageError.
CtWindow parse_ct_window(const std::string& text);

}  // namespace medsam::data

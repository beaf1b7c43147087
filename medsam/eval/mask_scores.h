// DSC and NSD of one binary mask pair under the evaluation options (tolerance, empty masks, the
// CVPR 2024 rule): the one place the trainer's validation and `medsam eval` get their numbers from.
#pragma once

#include <ATen/Tensor.h>

#include <vector>

#include "medsam/eval/dice.h"

namespace medsam::eval {

struct MetricOptions {
  double tolerance_mm = 2.0;               // NSD tolerance
  BothEmpty both_empty = BothEmpty::kOne;  // DSC and NSD when neither mask has a voxel
  bool cvpr2024 = false;                   // NSD := 0 when DSC <= 0.2 (CVPR 2024 MedSAM-on-laptop rule)
};

struct MaskScores {
  double dsc = 0;
  double nsd = 0;
};

// pred/gt: (H, W) or (Z, Y, X), non-zero = inside; spacing_mm per tensor axis (z, y, x order for
// volumes). One mask empty: DSC = NSD = 0. Both empty: options.both_empty for both.
// ref: MedSAM CVPR24 evaluation compute_metrics (per label: empty cases, then DSC and NSD)
MaskScores score_masks(const at::Tensor& pred, const at::Tensor& gt, const std::vector<double>& spacing_mm,
                       const MetricOptions& options = {});

}  // namespace medsam::eval

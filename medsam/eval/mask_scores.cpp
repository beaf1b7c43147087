#include "medsam/eval/mask_scores.h"

#include <cmath>

#include "medsam/eval/surface_distance.h"

namespace medsam::eval {

MaskScores score_masks(const at::Tensor& pred, const at::Tensor& gt, const std::vector<double>& spacing_mm,
                       const MetricOptions& options) {
  MaskScores s;
  s.dsc = dice(pred, gt, options.both_empty);
  s.nsd = normalized_surface_dice(pred, gt, spacing_mm, options.tolerance_mm);
  if (std::isnan(s.nsd)) s.nsd = s.dsc;  // both empty: the configured value (1 or NaN), like DSC
  if (options.cvpr2024 && s.dsc <= 0.2) s.nsd = 0;
  return s;
}

}  // namespace medsam::eval

// Dice similarity coefficient (DSC) of two binary masks.
#pragma once

#include <ATen/Tensor.h>

namespace medsam::eval {

// What a metric is when both masks are empty (nothing to find, nothing found). MedSAM's and the
// CVPR 2024 challenge's evaluation scripts score it 1; the DeepMind package returns NaN (0/0).
enum class BothEmpty { kOne, kNaN };

// 2|P∩G| / (|P| + |G|) over non-zero elements; masks of equal shape, any dtype and rank.
// Throws Error when the shapes differ.
// ref: surface_distance/metrics.py compute_dice_coefficient
double dice(const at::Tensor& pred, const at::Tensor& gt, BothEmpty both_empty = BothEmpty::kOne);

}  // namespace medsam::eval

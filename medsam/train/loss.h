// MedSAM's segmentation loss: Dice (sigmoid, squared denominator) + BCE-with-logits, on logits
// upsampled to the target's size (or, cheaper, targets downsampled to the logits' size).
#pragma once

#include <ATen/Tensor.h>

#include "medsam/core/config_train.h"

namespace medsam::train {

struct LossValues {
  at::Tensor total;  // dice_weight * dice + bce_weight * bce (0-dim, differentiable)
  at::Tensor dice;   // 0-dim
  at::Tensor bce;    // 0-dim
};

// ref: monai/losses/dice.py DiceLoss(sigmoid=True, squared_pred=True, reduction="mean"), batch=False:
// per sample and channel, 1 - (2 sum(p t) + smooth) / (sum(p^2) + sum(t^2) + smooth), p = sigmoid(logits);
// mean over samples and channels. logits, targets (B, C, H, W) of the same shape.
at::Tensor dice_loss(const at::Tensor& logits, const at::Tensor& targets, double smooth = 1e-5);

// ref: torch.nn.BCEWithLogitsLoss (reduction="mean"): mean over all elements.
at::Tensor bce_loss(const at::Tensor& logits, const at::Tensor& targets);

// ref: MedSAM train_one_gpu.py main (loss = seg_loss(medsam_pred, gt2D) + ce_loss(medsam_pred, gt2D)).
// low_res_logits (B, 1, h, w), masks (B, 1, H, W) 0/1. resolution "full": logits bilinearly upsampled
// (align_corners false) to (H, W), as MedSAM's forward does; "low": masks area-averaged to (h, w)
// (soft targets), no upsampling. Computed in float32 whatever the logits' dtype (autocast).
LossValues segmentation_loss(const at::Tensor& low_res_logits, const at::Tensor& masks, const LossConfig& config);

}  // namespace medsam::train

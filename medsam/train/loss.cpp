#include "medsam/train/loss.h"

#include <torch/torch.h>

#include "medsam/core/error.h"

namespace medsam::train {

namespace F = torch::nn::functional;

at::Tensor dice_loss(const at::Tensor& logits, const at::Tensor& targets, double smooth) {
  // ref: monai/losses/dice.py DiceLoss.forward (reduce over the spatial axes only: batch=False)
  const at::Tensor p = torch::sigmoid(logits);
  const std::vector<int64_t> spatial{2, 3};
  const at::Tensor intersection = (p * targets).sum(spatial);
  const at::Tensor denominator = (p * p).sum(spatial) + (targets * targets).sum(spatial);
  const at::Tensor f = 1.0 - (2.0 * intersection + smooth) / (denominator + smooth);  // (B, C)
  return f.mean();
}

at::Tensor bce_loss(const at::Tensor& logits, const at::Tensor& targets) {
  return torch::binary_cross_entropy_with_logits(logits, targets);
}

LossValues segmentation_loss(const at::Tensor& low_res_logits, const at::Tensor& masks, const LossConfig& config) {
  if (low_res_logits.dim() != 4 || masks.dim() != 4 || low_res_logits.size(0) != masks.size(0))
    throw Error("segmentation_loss: expected logits (B, 1, h, w) and masks (B, 1, H, W) with the same B");
  at::Tensor logits = low_res_logits.to(torch::kFloat32);
  at::Tensor targets = masks.to(logits.device(), torch::kFloat32);
  const std::vector<int64_t> logit_hw{logits.size(2), logits.size(3)};
  const std::vector<int64_t> mask_hw{targets.size(2), targets.size(3)};
  if (config.resolution == "full") {
    if (logit_hw != mask_hw)  // ref: MedSAM train_one_gpu.py MedSAM.forward F.interpolate(bilinear, align_corners=False)
      logits = F::interpolate(logits, F::InterpolateFuncOptions().size(mask_hw).mode(torch::kBilinear).align_corners(false));
  } else if (config.resolution == "low") {
    if (logit_hw != mask_hw) targets = F::adaptive_avg_pool2d(targets, F::AdaptiveAvgPool2dFuncOptions(logit_hw));
  } else {
    throw ConfigError("train.loss.resolution must be full or low, got '" + config.resolution + "'");
  }
  LossValues out;
  out.dice = dice_loss(logits, targets, config.smooth);
  out.bce = bce_loss(logits, targets);
  out.total = config.dice_weight * out.dice + config.bce_weight * out.bce;
  return out;
}

}  // namespace medsam::train

#include "medsam/infer/postprocess.h"

#include <torch/torch.h>

namespace medsam::infer {

// ref: MedSAM MedSAM_Inference.py medsam_inference (sigmoid -> F.interpolate bilinear -> > 0.5)
// ref: segment_anything/modeling/sam.py Sam.postprocess_masks (resize logits, then threshold/sigmoid)
at::Tensor logits_to_probabilities(const at::Tensor& low_res_logits, int64_t height, int64_t width,
                                   ProbabilityOrder order) {
  const std::vector<int64_t> size{height, width};
  const auto resize = [&](const at::Tensor& x) {
    return at::upsample_bilinear2d(x, at::IntArrayRef(size), /*align_corners=*/false, c10::nullopt, c10::nullopt);
  };
  const at::Tensor logits = low_res_logits.to(at::kFloat);
  if (order == ProbabilityOrder::kSigmoidThenResize) return resize(at::sigmoid(logits));
  return at::sigmoid(resize(logits));
}

at::Tensor threshold_masks(const at::Tensor& probabilities, double threshold) {
  return (probabilities > threshold).to(at::kByte);
}

}  // namespace medsam::infer

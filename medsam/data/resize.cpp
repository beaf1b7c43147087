#include "medsam/data/resize.h"

#include <torch/torch.h>

namespace medsam::data {

at::Tensor resize_bicubic(const at::Tensor& image, std::int64_t size_h, std::int64_t size_w) {
  const bool has_channels = image.dim() == 3;
  if (image.size(0) == size_h && image.size(1) == size_w) return image.to(torch::kFloat).contiguous();
  auto x = has_channels ? image.permute({2, 0, 1}) : image.unsqueeze(0);  // (C, H, W)
  namespace F = torch::nn::functional;
  const bool shrinking = size_h < x.size(1) || size_w < x.size(2);
  auto y = F::interpolate(x.unsqueeze(0).to(torch::kFloat),
                          F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{size_h, size_w})
                              .mode(torch::kBicubic)
                              .align_corners(false)
                              .antialias(shrinking))
               .squeeze(0);
  return has_channels ? y.permute({1, 2, 0}).contiguous() : y.squeeze(0).contiguous();
}

at::Tensor resize_image(const at::Tensor& image, std::int64_t size_h, std::int64_t size_w) {
  if (image.size(0) == size_h && image.size(1) == size_w) return image.to(torch::kByte).contiguous();
  return resize_bicubic(image, size_h, size_w).round().clamp(0, 255).to(torch::kByte);
}

at::Tensor resize_labels(const at::Tensor& labels, std::int64_t size_h, std::int64_t size_w) {
  if (labels.size(0) == size_h && labels.size(1) == size_w) return labels.to(torch::kInt).contiguous();
  // float32 holds every uint16 id exactly, and nearest-neighbour never mixes values.
  auto y = at::_upsample_nearest_exact2d(labels.to(torch::kFloat).unsqueeze(0).unsqueeze(0), {size_h, size_w});
  return y.squeeze(0).squeeze(0).to(torch::kInt).contiguous();
}

}  // namespace medsam::data

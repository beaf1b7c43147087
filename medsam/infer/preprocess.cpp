#include "medsam/infer/preprocess.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "medsam/core/error.h"
#include "medsam/data/resize.h"

namespace medsam::infer {

at::Tensor drop_alpha(const at::Tensor& image) {
  return image.dim() == 3 && image.size(2) == 4 ? image.slice(2, 0, 3).contiguous() : image;
}

// ref: MedSAM MedSAM_Inference.py (grey -> np.repeat to 3 channels; RGBA -> first 3)
at::Tensor to_three_channels(const at::Tensor& image) {
  at::Tensor x = image.to(at::kFloat);
  if (x.dim() == 2) x = x.unsqueeze(-1);
  if (x.dim() != 3) throw Error(fmt::format("image must be H×W or H×W×C, got {} dimensions", image.dim()));
  const int64_t c = x.size(2);
  if (c == 1) return x.expand({-1, -1, 3}).contiguous();
  if (c >= 3) return x.slice(2, 0, 3).contiguous();
  throw Error(fmt::format("image has {} channels; expected 1 (grey), 3 (RGB) or more (first 3 are used)", c));
}

at::Tensor resize_image(const at::Tensor& image_hwc, int64_t height, int64_t width) {
  if (image_hwc.size(0) == height && image_hwc.size(1) == width) return image_hwc;
  return data::resize_bicubic(image_hwc, height, width);
}

// ref: MedSAM MedSAM_Inference.py (resize to 1024, astype(uint8), min-max normalisation)
at::Tensor preprocess_image(const at::Tensor& image, int64_t size) {
  at::Tensor x = resize_image(to_three_channels(image), size, size);
  if (image.scalar_type() == at::kByte && (image.size(0) != size || image.size(1) != size)) {
    x = x.clamp(0, 255).trunc();  // the reference stores the resized image as uint8 again
  }
  const at::Tensor lo = x.min();
  const at::Tensor range = (x.max() - lo).clamp_min(1e-8);
  x = (x - lo) / range;
  return x.permute({2, 0, 1}).unsqueeze(0).contiguous();  // (H, W, 3) -> (1, 3, H, W)
}

// ref: MedSAM MedSAM_Inference.py (box_1024 = box / [W, H, W, H] * 1024)
at::Tensor scale_boxes(const at::Tensor& boxes, int64_t height, int64_t width, int64_t size) {
  if (boxes.dim() != 2 || boxes.size(1) != 4)
    throw Error(fmt::format("boxes must be N×4 (x0, y0, x1, y1), got {}", fmt::join(boxes.sizes(), "×")));
  const auto b = boxes.to(at::kDouble);
  const at::Tensor wh = at::tensor({static_cast<double>(width), static_cast<double>(height),
                                    static_cast<double>(width), static_cast<double>(height)},
                                   at::kDouble);
  return (b / wh * static_cast<double>(size)).to(at::kFloat);
}

}  // namespace medsam::infer

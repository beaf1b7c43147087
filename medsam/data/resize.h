// Resizing one slice to the stored training size (square, anisotropic, no padding: MedSAM's rule).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

namespace medsam::data {

// Bicubic resize with half-pixel centres, anti-aliased in each direction that shrinks
// (at::_upsample_bicubic2d_aa), plain bicubic when only enlarging, a no-op at the same size.
// (H, W) or (H, W, C) of any dtype -> float32 of the new size. The one resize of the project: data
// preparation (below) and inference preprocessing (medsam/infer/preprocess.h) both use it.
at::Tensor resize_bicubic(const at::Tensor& image, std::int64_t size_h, std::int64_t size_w);

// ref: MedSAM pre_CT_MR.py skimage transform.resize(order=3, anti_aliasing=True): bicubic,
// half-pixel centres, anti-aliased when shrinking; rounded and clamped back to uint8.
// `image` is (H, W) or (H, W, C) uint8; returns (size_h, size_w[, C]) uint8.
at::Tensor resize_image(const at::Tensor& image, std::int64_t size_h, std::int64_t size_w);

// ref: MedSAM pre_CT_MR.py skimage transform.resize(order=0): nearest neighbour with half-pixel
// centres (PyTorch's "nearest-exact"); label ids are kept exactly. (H, W) integer -> int32.
at::Tensor resize_labels(const at::Tensor& labels, std::int64_t size_h, std::int64_t size_w);

}  // namespace medsam::data

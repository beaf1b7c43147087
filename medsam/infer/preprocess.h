// MedSAM's image and prompt preprocessing (MedSAM_Inference.py), on tensors, without OpenCV.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

namespace medsam::infer {

// H×W×4 (RGBA; grey + alpha is read as RGBA) -> H×W×3, the same dtype; anything else unchanged. Called
// before intensity normalisation: an opaque 16-bit alpha (65535 everywhere) would otherwise be a quarter
// of the values the percentile clip sees, and squash the image's own range.
at::Tensor drop_alpha(const at::Tensor& image);

// H×W or H×W×C image of any dtype -> H×W×3 float32: grey repeated to 3 channels, C > 3 keeps the
// first 3 (RGBA drops alpha), C == 2 is an error.
at::Tensor to_three_channels(const at::Tensor& image);

// H×W×3 float -> H'×W'×3 float, the encoder's square size, anisotropic and without padding, as
// MedSAM does. Bicubic, antialiased in each direction that shrinks (at::_upsample_bicubic2d_aa,
// Keys a = -0.5); plain bicubic (a = -0.75, F.interpolate's) when only enlarging; a no-op when the
// size already matches.
// Differs from the reference: MedSAM uses skimage.transform.resize(order=3, anti_aliasing=True),
// i.e. cubic B-spline interpolation after a Gaussian prefilter (sigma = (factor-1)/2), so resized
// values differ by a few grey levels near edges. Images already at the encoder size are identical.
at::Tensor resize_image(const at::Tensor& image_hwc, int64_t height, int64_t width);

// The whole MedSAM image pipeline: to 3 channels, resize to size×size, then (for uint8 input)
// clamp to 0..255 and truncate to integers like the reference's `.astype(np.uint8)`, then min-max
// over the whole image to [0, 1] (max - min clipped at 1e-8); no pixel mean/std.
// image: H×W or H×W×C -> (1, 3, size, size) float32.
at::Tensor preprocess_image(const at::Tensor& image, int64_t size);

// Boxes (N, 4) x0, y0, x1, y1 in the original image's pixels -> the encoder's size×size frame:
// x * size / width, y * size / height (float32).
at::Tensor scale_boxes(const at::Tensor& boxes, int64_t height, int64_t width, int64_t size);

}  // namespace medsam::infer

// A picture of one scored object for the report gallery: the image with the ground-truth contour,
// the predicted contour and the box prompt drawn on it. Drawn with OpenCV (contour_overlay_opencv.cpp).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

namespace medsam::eval {

// Colours (RGB) of the three layers, also named in the report's legend.
constexpr std::uint8_t kGtColour[3] = {0, 200, 0};       // ground truth: green
constexpr std::uint8_t kPredColour[3] = {230, 30, 30};   // prediction: red
constexpr std::uint8_t kBoxColour[3] = {255, 210, 0};    // box prompt: yellow

// image (H, W, C) uint8 (C = 1 or 3), gt and pred (H, W) non-zero = inside, box (4) x0, y0, x1, y1 in
// pixels -> PNG bytes of an RGB picture. Images smaller than 512 px on their longer side are enlarged
// by an integer factor (masks nearest-neighbour) so contours stay visible. Throws Error on a shape
// mismatch, or (built without OpenCV) naming the missing dependency.
std::vector<std::uint8_t> contour_overlay_png(const at::Tensor& image, const at::Tensor& gt, const at::Tensor& pred,
                                              const at::Tensor& box);

// False when this build has no OpenCV (the report then has no gallery).
bool contour_overlay_available();

}  // namespace medsam::eval

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "medsam/core/error.h"
#include "medsam/eval/contour_overlay.h"

namespace medsam::eval {

namespace {

cv::Scalar bgr(const std::uint8_t (&rgb)[3]) { return cv::Scalar(rgb[2], rgb[1], rgb[0]); }

// (H, W) tensor, non-zero inside -> 8-bit single-channel Mat of 0/255, enlarged `scale` times.
cv::Mat mask_mat(const at::Tensor& mask, int scale) {
  auto m = (mask != 0).to(at::kByte).mul(255).contiguous();
  cv::Mat small(static_cast<int>(m.size(0)), static_cast<int>(m.size(1)), CV_8UC1, m.data_ptr<std::uint8_t>());
  cv::Mat out;
  cv::resize(small, out, cv::Size(), scale, scale, cv::INTER_NEAREST);
  return out;
}

void draw_contours(cv::Mat& canvas, const cv::Mat& mask, const cv::Scalar& colour, int thickness) {
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask.clone(), contours, cv::RETR_LIST, cv::CHAIN_APPROX_NONE);
  cv::drawContours(canvas, contours, -1, colour, thickness, cv::LINE_8);
}

}  // namespace

std::vector<std::uint8_t> contour_overlay_png(const at::Tensor& image, const at::Tensor& gt, const at::Tensor& pred,
                                              const at::Tensor& box) {
  if (image.dim() != 3 || (image.size(2) != 1 && image.size(2) != 3) || image.scalar_type() != at::kByte)
    throw Error(fmt::format("overlay: image must be H x W x 1|3 uint8, got {} {}", image.sizes(),
                            c10::toString(image.scalar_type())));
  const int64_t h = image.size(0), w = image.size(1);
  if (gt.sizes() != at::IntArrayRef{h, w} || pred.sizes() != at::IntArrayRef{h, w})
    throw Error(fmt::format("overlay: masks {} and {} do not match the {}x{} image", gt.sizes(), pred.sizes(), h, w));
  if (box.numel() != 4) throw Error(fmt::format("overlay: box must hold 4 numbers, got {}", box.numel()));
  const int scale = static_cast<int>(std::max<int64_t>(1, 512 / std::max(h, w)));

  auto img = image.contiguous();
  cv::Mat src(static_cast<int>(h), static_cast<int>(w), image.size(2) == 1 ? CV_8UC1 : CV_8UC3,
              img.data_ptr<std::uint8_t>());
  cv::Mat rgb;
  if (image.size(2) == 1) cv::cvtColor(src, rgb, cv::COLOR_GRAY2BGR);
  else cv::cvtColor(src, rgb, cv::COLOR_RGB2BGR);
  cv::Mat canvas;
  cv::resize(rgb, canvas, cv::Size(), scale, scale, scale > 1 ? cv::INTER_NEAREST : cv::INTER_LINEAR);

  const int thickness = std::max(1, scale / 2);
  const auto b = box.to(at::kDouble).contiguous();
  const double* p = b.data_ptr<double>();
  cv::rectangle(canvas, cv::Point(static_cast<int>(p[0] * scale), static_cast<int>(p[1] * scale)),
                cv::Point(static_cast<int>(p[2] * scale), static_cast<int>(p[3] * scale)), bgr(kBoxColour), thickness);
  draw_contours(canvas, mask_mat(gt, scale), bgr(kGtColour), thickness);
  draw_contours(canvas, mask_mat(pred, scale), bgr(kPredColour), thickness);

  std::vector<std::uint8_t> png;
  if (!cv::imencode(".png", canvas, png)) throw Error("overlay: PNG encoding failed");
  return png;
}

bool contour_overlay_available() { return true; }

}  // namespace medsam::eval

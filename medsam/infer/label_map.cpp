#include "medsam/infer/label_map.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <limits>

#include "medsam/core/error.h"
#include "medsam/infer/preprocess.h"

namespace medsam::infer {

at::Tensor compose_label_map(const at::Tensor& probabilities, double threshold) {
  if (probabilities.dim() != 3)
    throw Error(fmt::format("compose_label_map: expected (N, H, W) probabilities, got {}", probabilities.sizes()));
  LabelMapComposer composer(probabilities.size(1), probabilities.size(2), probabilities.size(0), threshold);
  composer.add(0, probabilities);
  return composer.labels();
}

LabelMapComposer::LabelMapComposer(int64_t height, int64_t width, int64_t prompts, double threshold)
    : best_(torch::full({height, width}, -std::numeric_limits<float>::infinity())),
      index_(torch::zeros({height, width}, at::kLong)),
      prompts_(prompts),
      threshold_(threshold) {}

void LabelMapComposer::add(int64_t first, const at::Tensor& probabilities) {
  if (probabilities.dim() != 3 || probabilities.size(1) != best_.size(0) || probabilities.size(2) != best_.size(1))
    throw Error(fmt::format("LabelMapComposer: expected (n, {}, {}) probabilities, got {}", best_.size(0),
                            best_.size(1), probabilities.sizes()));
  const auto [best, index] = probabilities.to(at::kFloat).max(0);  // (H, W) each; ties: the first
  // Strictly greater: on a tie the earlier chunk keeps the pixel, as max over all N would.
  const at::Tensor better = best > best_;
  best_ = torch::where(better, best, best_);
  index_ = torch::where(better, index + first, index_);
}

at::Tensor LabelMapComposer::labels() const {
  const at::Tensor labels = torch::where(best_ > threshold_, index_ + 1, torch::zeros_like(index_));
  return labels.to(prompts_ < 256 ? at::kByte : at::kInt);
}

at::Tensor relabel_prompts(const at::Tensor& index_map, const at::Tensor& labels) {
  // The lookup keeps 0 as background: lut = [0, labels...].
  const at::Tensor lut = torch::cat({torch::zeros({1}, at::kLong), labels.to(at::kLong).flatten()});
  const at::Tensor out = lut.index_select(0, index_map.to(at::kLong).flatten()).view(index_map.sizes());
  return out.to(lut.max().item<int64_t>() < 256 ? at::kByte : at::kInt);
}

namespace {
// A fixed, distinguishable palette (tab10-like), cycled for more labels.
constexpr uint8_t kPalette[][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
                                   {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {188, 189, 34},
                                   {23, 190, 207},  {255, 215, 0}};
constexpr int kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);

at::Tensor to_display_rgb(const at::Tensor& image) {
  at::Tensor rgb = to_three_channels(image).to(at::kFloat);  // (H, W, 3)
  const double lo = rgb.min().item<double>(), hi = rgb.max().item<double>();
  rgb = (rgb - lo) * (255.0 / std::max(hi - lo, 1e-8));
  return rgb;
}
}  // namespace

at::Tensor draw_overlay(const at::Tensor& image, const at::Tensor& labels, const at::Tensor& boxes) {
  at::Tensor rgb = to_display_rgb(image);
  const int64_t h = rgb.size(0), w = rgb.size(1);
  if (labels.size(0) != h || labels.size(1) != w)
    throw Error(fmt::format("draw_overlay: labels {} do not match the image {}x{}", labels.sizes(), h, w));
  const int64_t max_label = labels.max().item<int64_t>();
  for (int64_t l = 1; l <= max_label; ++l) {
    const auto* c = kPalette[(l - 1) % kPaletteSize];
    const at::Tensor colour = torch::tensor({float(c[0]), float(c[1]), float(c[2])});
    const at::Tensor where = (labels == l).unsqueeze(-1);  // (H, W, 1)
    rgb = torch::where(where, rgb * 0.5 + colour * 0.5, rgb);
  }
  if (boxes.defined()) {
    const auto b = boxes.to(at::kDouble).contiguous();
    for (int64_t i = 0; i < b.size(0); ++i) {
      const auto* c = kPalette[i % kPaletteSize];
      const at::Tensor colour = torch::tensor({float(c[0]), float(c[1]), float(c[2])});
      auto clampi = [](double v, int64_t hi) { return std::clamp<int64_t>(static_cast<int64_t>(v), 0, hi - 1); };
      const int64_t x0 = clampi(b[i][0].item<double>(), w), y0 = clampi(b[i][1].item<double>(), h);
      const int64_t x1 = clampi(b[i][2].item<double>(), w), y1 = clampi(b[i][3].item<double>(), h);
      rgb.index_put_({y0, torch::indexing::Slice(x0, x1 + 1)}, colour);
      rgb.index_put_({y1, torch::indexing::Slice(x0, x1 + 1)}, colour);
      rgb.index_put_({torch::indexing::Slice(y0, y1 + 1), x0}, colour);
      rgb.index_put_({torch::indexing::Slice(y0, y1 + 1), x1}, colour);
    }
  }
  return rgb.round().clamp(0, 255).to(at::kByte).contiguous();
}

}  // namespace medsam::infer

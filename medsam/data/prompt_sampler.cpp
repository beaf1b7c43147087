#include "medsam/data/prompt_sampler.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "medsam/core/error.h"

namespace medsam::data {

namespace {
// First and last true index of a 1-D bool tensor, or {-1, -1}.
std::array<std::int64_t, 2> extent(const at::Tensor& any) {
  const auto idx = any.nonzero();
  if (idx.numel() == 0) return {-1, -1};
  return {idx[0][0].item<std::int64_t>(), idx[-1][0].item<std::int64_t>()};
}

// A uniformly chosen pixel (x, y) among the true entries of `where` (H, W) bool; false if none.
bool pick_pixel(const at::Tensor& where, SampleRng& rng, std::array<float, 2>& out) {
  const auto flat = where.reshape({-1}).nonzero();  // (n, 1) int64
  const auto n = flat.size(0);
  if (n == 0) return false;
  const auto at = flat[static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n)))][0].item<std::int64_t>();
  const auto w = where.size(1);
  out = {static_cast<float>(at % w), static_cast<float>(at / w)};
  return true;
}
}  // namespace

std::array<std::int64_t, 4> tight_box(const at::Tensor& mask) {
  const auto m = mask.to(at::kBool);
  const auto xs = extent(m.any(0));  // columns holding a pixel
  const auto ys = extent(m.any(1));  // rows holding a pixel
  return {xs[0], ys[0], xs[1], ys[1]};
}

std::array<float, 4> jitter_box(const std::array<std::int64_t, 4>& t, std::int64_t width, std::int64_t height,
                                int shift, SampleRng& rng) {
  const auto x0 = std::max<std::int64_t>(0, t[0] - rng.randint(0, shift));
  const auto x1 = std::min<std::int64_t>(width, t[2] + rng.randint(0, shift));
  const auto y0 = std::max<std::int64_t>(0, t[1] - rng.randint(0, shift));
  const auto y1 = std::min<std::int64_t>(height, t[3] + rng.randint(0, shift));
  return {static_cast<float>(x0), static_cast<float>(y0), static_cast<float>(x1), static_cast<float>(y1)};
}

std::uint16_t choose_label(const std::vector<std::uint16_t>& candidates, SampleRng& rng) {
  if (candidates.empty()) throw Error("choose_label: no candidate label");
  return candidates[rng.below(candidates.size())];
}

Prompt PromptSampler::sample(const at::Tensor& mask, SampleRng& rng) const {
  const auto m = mask.to(at::kBool);
  const auto tight = tight_box(m);
  if (tight[0] < 0) throw Error("prompt sampler: empty target mask");
  Prompt p;
  p.box = jitter_box(tight, m.size(1), m.size(0), config_.bbox_shift, rng);
  if (!config_.points) return p;
  std::array<float, 2> xy{};
  for (int k = 0; k < config_.positive_points; ++k) {
    pick_pixel(m, rng, xy);
    p.points.push_back(xy);
    p.point_labels.push_back(1);
  }
  if (config_.negative_points > 0) {
    const auto outside = m.logical_not();
    auto in_box = at::zeros_like(m);
    const auto bx1 = std::min<std::int64_t>(static_cast<std::int64_t>(p.box[2]), m.size(1) - 1);
    const auto by1 = std::min<std::int64_t>(static_cast<std::int64_t>(p.box[3]), m.size(0) - 1);
    in_box.slice(0, static_cast<std::int64_t>(p.box[1]), by1 + 1)
        .slice(1, static_cast<std::int64_t>(p.box[0]), bx1 + 1)
        .fill_(true);
    auto where = outside.logical_and(in_box);
    if (!where.any().item<bool>()) where = outside;
    for (int k = 0; k < config_.negative_points; ++k) {
      if (!pick_pixel(where, rng, xy)) {  // the mask fills the image: a padding point
        xy = {0.f, 0.f};
        p.points.push_back(xy);
        p.point_labels.push_back(-1);
        continue;
      }
      p.points.push_back(xy);
      p.point_labels.push_back(0);
    }
  }
  return p;
}

}  // namespace medsam::data

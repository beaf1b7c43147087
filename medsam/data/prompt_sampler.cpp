#include "medsam/data/prompt_sampler.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "medsam/core/error.h"

namespace medsam::data {

namespace {
// The mask as contiguous bytes (0 / non-zero): no copy for a contiguous bool mask, the batch builder's.
at::Tensor as_bytes(const at::Tensor& mask) {
  TORCH_CHECK(mask.dim() == 2, "prompt sampler: the mask must be (H, W), got ", mask.sizes());
  return mask.to(at::kBool).contiguous();
}

// The index-th (0-based, row-major) pixel of rows [y0, y1] x columns [x0, x1] whose mask byte equals
// `want`, as (x, y); the scan order is nonzero()'s, so a draw picks the same pixel as indexing nonzero().
std::array<float, 2> nth_pixel(const bool* m, std::int64_t w, std::array<std::int64_t, 4> region, bool want,
                               std::int64_t index) {
  for (std::int64_t y = region[1]; y <= region[3]; ++y) {
    const bool* row = m + y * w;
    for (std::int64_t x = region[0]; x <= region[2]; ++x) {
      if (row[x] == want && index-- == 0) return {static_cast<float>(x), static_cast<float>(y)};
    }
  }
  throw Error("prompt sampler: pixel index beyond the count");  // unreachable with a correct count
}

// Inclusive extent and pixel count of the true entries of a contiguous (h, w) byte mask.
struct Extent {
  std::array<std::int64_t, 4> box{-1, -1, -1, -1};
  std::int64_t count = 0;
};

Extent extent_of(const bool* m, std::int64_t h, std::int64_t w) {
  Extent e;
  std::int64_t x0 = w, x1 = -1, y0 = -1, y1 = -1;
  for (std::int64_t y = 0; y < h; ++y) {
    const bool* row = m + y * w;
    std::int64_t first = -1, last = -1, n = 0;
    for (std::int64_t x = 0; x < w; ++x) n += row[x];
    if (n == 0) continue;
    for (std::int64_t x = 0; x < w && first < 0; ++x) if (row[x]) first = x;
    for (std::int64_t x = w - 1; x >= 0 && last < 0; --x) if (row[x]) last = x;
    if (y0 < 0) y0 = y;
    y1 = y;
    x0 = std::min(x0, first);
    x1 = std::max(x1, last);
    e.count += n;
  }
  if (e.count > 0) e.box = {x0, y0, x1, y1};
  return e;
}
}  // namespace

std::array<std::int64_t, 4> tight_box(const at::Tensor& mask) {
  const auto m = as_bytes(mask);
  return extent_of(m.data_ptr<bool>(), m.size(0), m.size(1)).box;
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
  const auto m = as_bytes(mask);
  const std::int64_t h = m.size(0), w = m.size(1);
  const bool* px = m.data_ptr<bool>();
  const auto inside = extent_of(px, h, w);
  if (inside.count == 0) throw Error("prompt sampler: empty target mask");
  Prompt p;
  p.box = jitter_box(inside.box, w, h, config_.bbox_shift, rng);
  if (!config_.points) return p;
  const auto draw = [&rng](std::int64_t n) { return static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n))); };
  for (int k = 0; k < config_.positive_points; ++k) {
    p.points.push_back(nth_pixel(px, w, inside.box, true, draw(inside.count)));
    p.point_labels.push_back(1);
  }
  if (config_.negative_points > 0) {
    // Outside the mask but inside the jittered box (which holds the whole mask: every mask pixel is
    // in it); anywhere outside the mask when the mask fills the box.
    std::array<std::int64_t, 4> box{static_cast<std::int64_t>(p.box[0]), static_cast<std::int64_t>(p.box[1]),
                                    std::min<std::int64_t>(static_cast<std::int64_t>(p.box[2]), w - 1),
                                    std::min<std::int64_t>(static_cast<std::int64_t>(p.box[3]), h - 1)};
    std::int64_t outside = (box[2] - box[0] + 1) * (box[3] - box[1] + 1) - inside.count;
    if (outside == 0) box = {0, 0, w - 1, h - 1}, outside = h * w - inside.count;
    for (int k = 0; k < config_.negative_points; ++k) {
      if (outside == 0) {  // the mask fills the image: a padding point
        p.points.push_back({0.f, 0.f});
        p.point_labels.push_back(-1);
        continue;
      }
      p.points.push_back(nth_pixel(px, w, box, false, draw(outside)));
      p.point_labels.push_back(0);
    }
  }
  return p;
}

}  // namespace medsam::data

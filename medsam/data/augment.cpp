#include "medsam/data/augment.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "medsam/data/warp.h"

namespace medsam::data {

AugmentParams draw_augment(const AugmentConfig& c, std::int64_t image_size, SampleRng& rng) {
  AugmentParams p;
  if (!c.enabled) return p;
  p.hflip = rng.bernoulli(c.hflip);
  p.vflip = rng.bernoulli(c.vflip);
  p.rot90 = c.rot90 ? static_cast<int>(rng.below(4)) : 0;
  if (c.scale > 0) p.scale = rng.uniform(1.0 - c.scale, 1.0 + c.scale);
  if (c.translate > 0) {
    p.shift_x = std::round(rng.uniform(-c.translate, c.translate) * static_cast<double>(image_size));
    p.shift_y = std::round(rng.uniform(-c.translate, c.translate) * static_cast<double>(image_size));
  }
  if (c.brightness > 0) p.brightness = rng.uniform(-c.brightness, c.brightness);
  if (c.contrast > 0) p.contrast = rng.uniform(1.0 - c.contrast, 1.0 + c.contrast);
  if (c.gamma > 0) p.gamma = rng.uniform(1.0 - c.gamma, 1.0 + c.gamma);
  return p;
}

namespace {

// Where output pixel (x, y) reads after flips then k counter-clockwise quarter turns (at::rot90 over
// (H, W)), in centred coordinates: a quarter turn reads (x, y) from (-y, x), a left-right flip from
// (-x, y), an up-down flip from (x, -y). Returned as the 2x2 matrix {a, b, c, d}: source = (a x + b y, c x + d y).
std::array<double, 4> flip_rot_matrix(const AugmentParams& p) {
  std::array<double, 4> m{1, 0, 0, 1};  // source = m * output, built outermost (the turns) first
  for (int k = 0; k < ((p.rot90 % 4) + 4) % 4; ++k) m = {-m[2], -m[3], m[0], m[1]};
  if (p.vflip) m = {m[0], m[1], -m[2], -m[3]};
  if (p.hflip) m = {-m[0], -m[1], m[2], m[3]};
  return m;
}

void require_square(const at::Tensor& image, const at::Tensor& labels) {
  TORCH_CHECK(image.dim() == 3 && image.scalar_type() == at::kByte && image.size(1) == image.size(2),
              "augmentation: image must be (C, S, S) uint8, got ", image.sizes(), " ", image.scalar_type());
  TORCH_CHECK(labels.dim() == 2 && labels.scalar_type() == at::kInt && labels.size(0) == image.size(1) &&
                  labels.size(1) == image.size(2),
              "augmentation: labels must be (S, S) int32 like the image, got ", labels.sizes(), " ",
              labels.scalar_type());
}

}  // namespace

// ref: the flips, rot90 and zoom/shift of MedSAM-style augmentation, as one map: output pixel u reads
// source A (u - shift) / scale about the centre, where A undoes the flips and turns.
void apply_geometry(const AugmentParams& p, at::Tensor& image, at::Tensor& labels, std::uint8_t fill) {
  if (p.identity_geometry()) return;
  require_square(image, labels);
  const auto m = flip_rot_matrix(p);
  const double k = 1.0 / p.scale;
  const PlaneAffine map{m[0] * k, m[1] * k, m[2] * k, m[3] * k, p.shift_x, p.shift_y};
  const std::int64_t S = image.size(1), C = image.size(0);
  const auto src = image.contiguous();
  const auto src_labels = labels.contiguous();
  auto out = at::empty_like(src, at::MemoryFormat::Contiguous);
  auto out_labels = at::empty_like(src_labels, at::MemoryFormat::Contiguous);
  for (std::int64_t c = 0; c < C; ++c) {
    const auto* in = src.data_ptr<std::uint8_t>() + c * S * S;
    auto* to = out.data_ptr<std::uint8_t>() + c * S * S;
    if (p.lossy_geometry()) {
      warp_bilinear(in, to, S, map, fill);
    } else {
      warp_nearest(in, to, S, map, fill);  // flips and turns only: exact
    }
  }
  warp_nearest(src_labels.data_ptr<std::int32_t>(), out_labels.data_ptr<std::int32_t>(), S, map, 0);
  image = out;
  labels = out_labels;
}

namespace {
at::Tensor checked_planes(const at::Tensor& image) {
  TORCH_CHECK(image.dim() == 3 && image.scalar_type() == at::kByte && (image.size(0) == 1 || image.size(0) == 3),
              "to_unit_float: image must be (1|3, H, W) uint8, got ", image.sizes(), " ", image.scalar_type());
  return image.contiguous();
}
}  // namespace

// ref: MedSAM train_one_gpu.py (img - min) / clip(max - min, 1e-8, None); then the jitter as
// (x - mean) * contrast + mean + brightness, clamped, ** gamma.
UnitTable unit_table(const AugmentParams& p, const at::Tensor& image, std::uint8_t lo, std::uint8_t hi) {
  // float32 arithmetic as the plain (x - lo) / range over a float tensor, so the unaugmented values
  // are bit-identical to it.
  const float flo = lo, range = std::max(static_cast<float>(hi) - flo, 1e-8f);
  UnitTable table{};
  for (int v = 0; v < 256; ++v) table[v] = (static_cast<float>(v) - flo) / range;
  if (p.contrast == 1.0 && p.brightness == 0.0 && p.gamma == 1.0) return table;
  double mean = 0;
  if (p.contrast != 1.0) {  // the mean of the normalised image, from its histogram
    const auto src = checked_planes(image);
    const auto* in = src.data_ptr<std::uint8_t>();
    const auto n = src.numel();
    std::array<std::int64_t, 256> hist{};
    for (std::int64_t i = 0; i < n; ++i) ++hist[in[i]];
    for (int v = 0; v < 256; ++v) mean += static_cast<double>(hist[v]) * table[v];
    mean /= static_cast<double>(n);
  }
  for (auto& t : table) {
    double x = t;
    if (p.contrast != 1.0) x = (x - mean) * p.contrast + mean;
    x = std::clamp(x + p.brightness, 0.0, 1.0);
    if (p.gamma != 1.0) x = std::pow(x, p.gamma);
    t = static_cast<float>(x);
  }
  return table;
}

void write_unit_float(const UnitTable& table, const at::Tensor& image, float* out) {
  const auto src = checked_planes(image);
  const auto plane = src.size(1) * src.size(2);
  const auto* in = src.data_ptr<std::uint8_t>();
  if (src.size(0) == 3) {
    for (std::int64_t i = 0; i < 3 * plane; ++i) out[i] = table[in[i]];
    return;
  }
  for (std::int64_t i = 0; i < plane; ++i) {
    const float v = table[in[i]];
    out[i] = v, out[plane + i] = v, out[2 * plane + i] = v;
  }
}

at::Tensor to_unit_float(const AugmentParams& p, const at::Tensor& image, std::uint8_t lo, std::uint8_t hi) {
  const auto src = checked_planes(image);
  const auto table = unit_table(p, src, lo, hi);
  auto out = at::empty(src.sizes(), src.options().dtype(at::kFloat));
  auto* to = out.data_ptr<float>();
  const auto* in = src.data_ptr<std::uint8_t>();
  for (std::int64_t i = 0; i < src.numel(); ++i) to[i] = table[in[i]];
  return out.size(0) == 1 ? out.expand({3, out.size(1), out.size(2)}) : out;
}

}  // namespace medsam::data

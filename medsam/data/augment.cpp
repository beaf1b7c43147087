#include "medsam/data/augment.h"

#include <ATen/ATen.h>

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

void apply_geometry(const AugmentParams& p, at::Tensor& image, at::Tensor& labels) {
  if (p.hflip) {
    image = image.flip({2});
    labels = labels.flip({1});
  }
  if (p.vflip) {
    image = image.flip({1});
    labels = labels.flip({0});
  }
  if (p.rot90 != 0) {
    image = at::rot90(image, p.rot90, {1, 2});
    labels = at::rot90(labels, p.rot90, {0, 1});
  }
  if (p.lossy_geometry()) {
    // Output pixel u = scale * (v - centre) + centre + shift. In align_corners=false normalised
    // coordinates the sampling grid is v_n = (u_n - t_n) / scale with t_n = 2 * shift / S.
    const auto s = static_cast<double>(image.size(2));
    const double tx = 2.0 * p.shift_x / s, ty = 2.0 * p.shift_y / s;
    const auto theta = at::tensor({1.0 / p.scale, 0.0, -tx / p.scale, 0.0, 1.0 / p.scale, -ty / p.scale},
                                  at::TensorOptions().dtype(at::kFloat))
                           .reshape({1, 2, 3});
    const auto grid = at::affine_grid_generator(theta, {1, 1, image.size(1), image.size(2)}, false);
    // mode 0 bilinear, 1 nearest; padding 0 zeros
    image = at::grid_sampler(image.unsqueeze(0), grid, 0, 0, false).squeeze(0);
    labels = at::grid_sampler(labels.to(at::kFloat).unsqueeze(0).unsqueeze(0), grid, 1, 0, false)
                 .squeeze(0)
                 .squeeze(0)
                 .to(at::kInt);
  }
}

void apply_intensity(const AugmentParams& p, at::Tensor& image) {
  if (p.contrast == 1.0 && p.brightness == 0.0 && p.gamma == 1.0) return;
  auto x = image;
  if (p.contrast != 1.0) x = (x - x.mean()) * p.contrast + x.mean();
  if (p.brightness != 0.0) x = x + p.brightness;
  x = x.clamp(0.0, 1.0);
  if (p.gamma != 1.0) x = x.pow(p.gamma);
  image = x;
}

}  // namespace medsam::data

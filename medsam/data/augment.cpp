#include "medsam/data/augment.h"

#include <ATen/ATen.h>

#include <array>

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

// A grey image reaches augmentation as one channel broadcast to three (stride 0, dataset.cpp): work on
// the one channel and broadcast the result again, a third of the memory traffic.
bool is_broadcast_grey(const at::Tensor& image) { return image.size(0) == 3 && image.stride(0) == 0; }

// The source coordinate, in align_corners=false normalised coordinates (x along W, y along H), that
// output pixel (x, y) reads after flips then k counter-clockwise quarter turns (at::rot90 over (H, W)):
// a quarter turn reads (x, y) from (-y, x), a left-right flip from (-x, y), an up-down flip from (x, -y).
// Returned as the 2x2 matrix {a, b, c, d}: source = (a x + b y, c x + d y).
std::array<double, 4> flip_rot_matrix(const AugmentParams& p) {
  std::array<double, 4> m{1, 0, 0, 1};  // source = m * output, built outermost (the turns) first
  for (int k = 0; k < ((p.rot90 % 4) + 4) % 4; ++k) m = {-m[2], -m[3], m[0], m[1]};
  if (p.vflip) m = {m[0], m[1], -m[2], -m[3]};
  if (p.hflip) m = {-m[0], -m[1], m[2], m[3]};
  return m;
}

}  // namespace

void apply_geometry(const AugmentParams& p, at::Tensor& image, at::Tensor& labels) {
  if (p.identity_geometry()) return;
  const bool grey = is_broadcast_grey(image);
  at::Tensor img = grey ? image.slice(0, 0, 1) : image;
  if (!p.lossy_geometry()) {
    // Flips and quarter turns alone move pixels exactly: plain index permutations.
    if (p.hflip) {
      img = img.flip({2});
      labels = labels.flip({1});
    }
    if (p.vflip) {
      img = img.flip({1});
      labels = labels.flip({0});
    }
    if (p.rot90 != 0) {
      img = at::rot90(img, p.rot90, {1, 2});
      labels = at::rot90(labels, p.rot90, {0, 1});
    }
  } else {
    // One resample does it all: the flips and quarter turns are folded into the affine grid of the
    // zoom/shift (a square frame's pixel centres map onto pixel centres, so this equals flipping and
    // turning first), instead of copying the image through each of them (~4x slower at 1024², measured).
    // Zoom/shift alone: output pixel u = scale * (v - centre) + centre + shift, i.e. in normalised
    // coordinates v_n = (u_n - t_n) / scale with t_n = 2 * shift / S; the flips/turns then map v_n.
    const auto s = static_cast<double>(img.size(2));
    const double tx = 2.0 * p.shift_x / s, ty = 2.0 * p.shift_y / s;
    const auto m = flip_rot_matrix(p);
    const double k = 1.0 / p.scale;
    const auto theta = at::tensor({m[0] * k, m[1] * k, -(m[0] * tx + m[1] * ty) * k,  //
                                   m[2] * k, m[3] * k, -(m[2] * tx + m[3] * ty) * k},
                                  at::TensorOptions().dtype(at::kFloat))
                           .reshape({1, 2, 3});
    const auto grid = at::affine_grid_generator(theta, {1, 1, img.size(1), img.size(2)}, false);
    // mode 0 bilinear, 1 nearest; padding 0 zeros
    img = at::grid_sampler(img.unsqueeze(0), grid, 0, 0, false).squeeze(0);
    labels = at::grid_sampler(labels.to(at::kFloat).unsqueeze(0).unsqueeze(0), grid, 1, 0, false)
                 .squeeze(0)
                 .squeeze(0)
                 .to(at::kInt);
  }
  image = grey ? img.expand({3, img.size(1), img.size(2)}) : img;
}

void apply_intensity(const AugmentParams& p, at::Tensor& image) {
  if (p.contrast == 1.0 && p.brightness == 0.0 && p.gamma == 1.0) return;
  const bool grey = is_broadcast_grey(image);
  auto x = grey ? image.slice(0, 0, 1) : image;
  if (p.contrast != 1.0) {
    const auto mean = x.mean();
    x = (x - mean) * p.contrast + mean;
  }
  if (p.brightness != 0.0) x = x + p.brightness;
  x = x.clamp(0.0, 1.0);
  if (p.gamma != 1.0) x = x.pow(p.gamma);
  image = grey ? x.expand({3, x.size(1), x.size(2)}) : x;
}

}  // namespace medsam::data

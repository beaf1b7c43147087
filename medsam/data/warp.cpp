#include "medsam/data/warp.h"

#include <algorithm>
#include <cmath>

namespace medsam::data {

namespace {

// Source positions walk each output row in 32.32 fixed point: one integer add per pixel, floor by an
// arithmetic shift, no libm call (the build has no -march, so std::floor is not inlined). Drift over a
// 1024 px row is below 1e-6 px.
constexpr int kFracBits = 32;
constexpr double kOne = 4294967296.0;  // 2^32
constexpr std::int64_t kHalf = std::int64_t{1} << (kFracBits - 1);

std::int64_t to_fixed(double v) { return static_cast<std::int64_t>(std::llround(v * kOne)); }

// Source position, in fixed-point pixel indices, of output pixel (x0, y) and its step along x.
struct RowWalk {
  std::int64_t x, y, dx, dy;
};

RowWalk row_walk(const PlaneAffine& m, std::int64_t size, std::int64_t x0, std::int64_t y) {
  const double half = 0.5 * static_cast<double>(size);
  const double ox = static_cast<double>(x0) + 0.5 - half - m.shift_x;  // centred and unshifted
  const double oy = static_cast<double>(y) + 0.5 - half - m.shift_y;
  // Back from centred coordinates to indices: + S/2 - 0.5.
  return {to_fixed(m.a * ox + m.b * oy + half - 0.5), to_fixed(m.c * ox + m.d * oy + half - 0.5), to_fixed(m.a),
          to_fixed(m.c)};
}

// The output is visited in square tiles: under a quarter turn an output row walks down a source
// column, and row-by-row traversal would touch a new page for every pixel (a TLB miss each: measured
// 4 ns/pixel on int32 labels); a tile's sources stay within a few dozen pages and cache lines.
constexpr std::int64_t kTile = 64;

template <typename Row>
void for_each_tile_row(std::int64_t size, const PlaneAffine& m, Row&& row) {
  for (std::int64_t ty = 0; ty < size; ty += kTile) {
    for (std::int64_t tx = 0; tx < size; tx += kTile) {
      const std::int64_t x1 = std::min(size, tx + kTile), y1 = std::min(size, ty + kTile);
      for (std::int64_t y = ty; y < y1; ++y) row(y, tx, x1, row_walk(m, size, tx, y));
    }
  }
}

template <typename T>
void nearest_plane(const T* src, T* dst, std::int64_t size, const PlaneAffine& m, T fill) {
  for_each_tile_row(size, m, [&](std::int64_t y, std::int64_t x0, std::int64_t x1, RowWalk r) {
    T* out = dst + y * size;
    for (std::int64_t x = x0; x < x1; ++x, r.x += r.dx, r.y += r.dy) {
      const std::int64_t sx = (r.x + kHalf) >> kFracBits, sy = (r.y + kHalf) >> kFracBits;  // halves up
      out[x] = (static_cast<std::uint64_t>(sx) < static_cast<std::uint64_t>(size) &&
                static_cast<std::uint64_t>(sy) < static_cast<std::uint64_t>(size))
                   ? src[sy * size + sx]
                   : fill;
    }
  });
}

}  // namespace

// ref: ATen grid_sampler_2d (bilinear, padding_mode zeros, align_corners=false): the four
// neighbours' weights from the fractional source position; an outside neighbour contributes `fill`.
void warp_bilinear(const std::uint8_t* src, std::uint8_t* dst, std::int64_t size, const PlaneAffine& m,
                   std::uint8_t fill) {
  const auto inside = [size](std::int64_t i) { return static_cast<std::uint64_t>(i) < static_cast<std::uint64_t>(size); };
  const auto at = [&](std::int64_t x, std::int64_t y) -> float {
    return inside(x) && inside(y) ? static_cast<float>(src[y * size + x]) : static_cast<float>(fill);
  };
  constexpr float kFrac = 1.0f / 4294967296.0f;
  for_each_tile_row(size, m, [&](std::int64_t y, std::int64_t x0_out, std::int64_t x1_out, RowWalk r) {
    std::uint8_t* out = dst + y * size;
    for (std::int64_t x = x0_out; x < x1_out; ++x, r.x += r.dx, r.y += r.dy) {
      const std::int64_t x0 = r.x >> kFracBits, y0 = r.y >> kFracBits;  // floor
      const float wx = static_cast<float>(r.x & 0xFFFFFFFFLL) * kFrac;
      const float wy = static_cast<float>(r.y & 0xFFFFFFFFLL) * kFrac;
      float top, bottom;
      if (inside(x0) && inside(x0 + 1) && inside(y0) && inside(y0 + 1)) {  // the common case
        const std::uint8_t* p = src + y0 * size + x0;
        top = p[0] + wx * (static_cast<float>(p[1]) - p[0]);
        bottom = p[size] + wx * (static_cast<float>(p[size + 1]) - p[size]);
      } else {
        top = at(x0, y0) + wx * (at(x0 + 1, y0) - at(x0, y0));
        bottom = at(x0, y0 + 1) + wx * (at(x0 + 1, y0 + 1) - at(x0, y0 + 1));
      }
      const float v = top + wy * (bottom - top);
      out[x] = static_cast<std::uint8_t>(std::min(255.f, std::max(0.f, v)) + 0.5f);  // round half up
    }
  });
}

void warp_nearest(const std::uint8_t* src, std::uint8_t* dst, std::int64_t size, const PlaneAffine& m,
                  std::uint8_t fill) {
  nearest_plane(src, dst, size, m, fill);
}

void warp_nearest(const std::int32_t* src, std::int32_t* dst, std::int64_t size, const PlaneAffine& m,
                  std::int32_t fill) {
  nearest_plane(src, dst, size, m, fill);
}

}  // namespace medsam::data

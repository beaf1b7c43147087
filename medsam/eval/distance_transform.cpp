#include "medsam/eval/distance_transform.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>

namespace medsam::eval {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// One line: d[q] = min_p (w·(q − p))² + f[p] over the points p with finite f.
// ref: Felzenszwalb & Huttenlocher 2012, "Distance Transforms of Sampled Functions", algorithm DT(f)
void lower_envelope_1d(const double* f, int64_t n, double w, double* d, int64_t* v, double* z) {
  int64_t k = -1;
  for (int64_t q = 0; q < n; ++q) {
    if (f[q] == kInf) continue;
    const double fq = f[q] + (q * w) * (q * w);
    double s = -kInf;
    while (k >= 0) {
      const int64_t p = v[k];
      s = (fq - (f[p] + (p * w) * (p * w))) / (2.0 * w * static_cast<double>(q - p));
      if (s <= z[k]) --k;
      else break;
    }
    ++k;
    v[k] = q;
    z[k] = k == 0 ? -kInf : s;
    z[k + 1] = kInf;
  }
  if (k < 0) {
    for (int64_t q = 0; q < n; ++q) d[q] = kInf;
    return;
  }
  int64_t j = 0;
  for (int64_t q = 0; q < n; ++q) {
    while (z[j + 1] < q * w) ++j;
    const double dx = w * static_cast<double>(q - v[j]);
    d[q] = dx * dx + f[v[j]];
  }
}

// Applies the 1D transform along `axis` to every line of `grid`, in place.
void transform_axis(std::vector<double>& grid, const GridShape& shape, int axis, double w) {
  const int64_t n = shape.size[axis];
  if (n <= 1) return;
  const std::array<int64_t, 3> stride{shape.size[1] * shape.size[2], shape.size[2], 1};
  const int a = axis == 0 ? 1 : 0, b = axis == 2 ? 1 : 2;  // the two other axes
  const int64_t lines = shape.size[a] * shape.size[b];
  at::parallel_for(0, lines, 64, [&](int64_t begin, int64_t end) {
    std::vector<double> f(n), d(n), z(n + 1);
    std::vector<int64_t> v(n);
    for (int64_t line = begin; line < end; ++line) {
      const int64_t base = (line / shape.size[b]) * stride[a] + (line % shape.size[b]) * stride[b];
      for (int64_t i = 0; i < n; ++i) f[i] = grid[base + i * stride[axis]];
      lower_envelope_1d(f.data(), n, w, d.data(), v.data(), z.data());
      for (int64_t i = 0; i < n; ++i) grid[base + i * stride[axis]] = d[i];
    }
  });
}

// The innermost axis on the binary input: the nearest feature on each line is the nearer of the last
// one to the left and the first one to the right (two linear sweeps), cheaper than the envelope.
void binary_axis2(const std::vector<std::uint8_t>& feature, std::vector<double>& grid, const GridShape& shape,
                  double w) {
  const int64_t n = shape.size[2];
  at::parallel_for(0, shape.size[0] * shape.size[1], 64, [&](int64_t begin, int64_t end) {
    for (int64_t line = begin; line < end; ++line) {
      const std::uint8_t* f = feature.data() + line * n;
      double* d = grid.data() + line * n;
      int64_t last = -1;
      for (int64_t q = 0; q < n; ++q) {
        if (f[q]) last = q;
        d[q] = last < 0 ? kInf : static_cast<double>(q - last);
      }
      int64_t next = -1;
      for (int64_t q = n - 1; q >= 0; --q) {
        if (f[q]) next = q;
        if (next >= 0) d[q] = std::min(d[q], static_cast<double>(next - q));
        if (d[q] != kInf) d[q] = (w * d[q]) * (w * d[q]);
      }
    }
  });
}

}  // namespace

std::vector<double> squared_distance_transform(const std::vector<std::uint8_t>& feature, const GridShape& shape,
                                               const std::array<double, 3>& spacing) {
  std::vector<double> grid(feature.size());
  // Innermost axis first: its lines are contiguous; the squared distance is separable per axis.
  binary_axis2(feature, grid, shape, spacing[2]);
  for (int axis = 1; axis >= 0; --axis) transform_axis(grid, shape, axis, spacing[axis]);
  return grid;
}

}  // namespace medsam::eval

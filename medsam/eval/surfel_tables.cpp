// The tables are derived here, not transcribed: marching squares/cubes on the unit cell with the
// vertices at edge midpoints, polygons closed by walking the per-face segments, fan-triangulated.
// Each triangle is kept as its half cross product in index space n (|n| = area at unit spacing);
// under spacing s its area is |(n0·s1·s2, n1·s0·s2, n2·s0·s1)|, exactly as the reference scales its
// stored normals.
//
// Choices the geometry does not fix (see docs/evaluation.md, "Surfel tables"):
// - a face with two diagonal inside corners separates those corners (the reference does the same);
// - codes with more than 4 inside corners use the surface of their complement, and of a 4-corner code
//   and its complement the smaller code's surface serves both (areas are complement-symmetric, as in
//   the reference);
// - a polygon of 4+ vertices is fanned from its vertex with the smallest (axis 2, axis 1, axis 0)
//   coordinates. Planar polygons do not care; for the 54 codes whose polygon is a non-planar
//   pentagon or hexagon the reference's marching-cubes table fans from a vertex that no symmetric
//   rule picks, so those areas differ from the reference by up to 2.4% at isotropic spacing.
#include "medsam/eval/surfel_tables.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <vector>

namespace medsam::eval {

namespace {

using Vec3 = std::array<double, 3>;

struct Cell3 {
  std::array<std::array<int, 3>, 8> corner{};       // corner v at (a, b, c) = bits of v
  std::vector<std::array<int, 2>> edges;             // corner pairs differing in one coordinate
  std::vector<std::array<int, 4>> faces;             // 4 corners in cyclic order

  Cell3() {
    for (int v = 0; v < 8; ++v) corner[v] = {(v >> 2) & 1, (v >> 1) & 1, v & 1};
    for (int u = 0; u < 8; ++u)
      for (int v = u + 1; v < 8; ++v)
        if (__builtin_popcount(u ^ v) == 1) edges.push_back({u, v});
    for (int axis = 0; axis < 3; ++axis)
      for (int side = 0; side < 2; ++side) {
        // The two free axes p < q; cycle (0,0) → (0,1) → (1,1) → (1,0).
        const int p = axis == 0 ? 1 : 0, q = axis == 2 ? 1 : 2;
        std::array<int, 4> f{};
        const int cyc[4][2] = {{0, 0}, {0, 1}, {1, 1}, {1, 0}};
        for (int i = 0; i < 4; ++i) {
          std::array<int, 3> pos{};
          pos[axis] = side;
          pos[p] = cyc[i][0];
          pos[q] = cyc[i][1];
          f[i] = pos[0] * 4 + pos[1] * 2 + pos[2];
        }
        faces.push_back(f);
      }
  }
  int edge_id(int u, int v) const {
    const std::array<int, 2> e{std::min(u, v), std::max(u, v)};
    return static_cast<int>(std::find(edges.begin(), edges.end(), e) - edges.begin());
  }
  Vec3 midpoint(int e) const {
    const auto& a = corner[edges[e][0]];
    const auto& b = corner[edges[e][1]];
    return {0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1]), 0.5 * (a[2] + b[2])};
  }
};

// Closed polygons (as edge ids) of the marching-cubes surface for `code` with at most 4 inside corners.
std::vector<std::vector<int>> surface_loops(const Cell3& cell, int code) {
  std::array<bool, 8> inside{};
  for (int v = 0; v < 8; ++v) inside[v] = (code >> (7 - v)) & 1;
  std::map<int, std::vector<int>> adjacent;
  for (const auto& f : cell.faces) {
    auto edge = [&](int i) { return cell.edge_id(f[i], f[(i + 1) % 4]); };
    std::vector<int> crossing;
    for (int i = 0; i < 4; ++i)
      if (inside[f[i]] != inside[f[(i + 1) % 4]]) crossing.push_back(i);
    std::vector<std::array<int, 2>> segments;
    if (crossing.size() == 2) {
      segments.push_back({edge(crossing[0]), edge(crossing[1])});
    } else if (crossing.size() == 4) {  // diagonal pattern: cut off each inside corner
      for (int i = 0; i < 4; ++i)
        if (inside[f[i]]) segments.push_back({edge((i + 3) % 4), edge(i)});
    }
    for (const auto& s : segments) {
      adjacent[s[0]].push_back(s[1]);
      adjacent[s[1]].push_back(s[0]);
    }
  }
  std::vector<std::vector<int>> loops;
  std::vector<bool> seen(cell.edges.size(), false);
  for (const auto& [start, unused] : adjacent) {
    if (seen[start]) continue;
    std::vector<int> loop{start};
    seen[start] = true;
    int current = start;
    while (true) {
      int next = -1;
      for (int n : adjacent[current])
        if (!seen[n] && (next < 0 || n < next)) next = n;
      if (next < 0) break;
      loop.push_back(next);
      seen[next] = true;
      current = next;
    }
    loops.push_back(loop);
  }
  return loops;
}

Vec3 half_cross(const Vec3& p, const Vec3& q, const Vec3& r) {
  const Vec3 u{q[0] - p[0], q[1] - p[1], q[2] - p[2]};
  const Vec3 w{r[0] - p[0], r[1] - p[1], r[2] - p[2]};
  return {0.5 * (u[1] * w[2] - u[2] * w[1]), 0.5 * (u[2] * w[0] - u[0] * w[2]), 0.5 * (u[0] * w[1] - u[1] * w[0])};
}

// Triangle normals (area-weighted, index space) per code, derived once.
const std::array<std::vector<Vec3>, 256>& triangle_normals() {
  static const std::array<std::vector<Vec3>, 256> table = [] {
    std::array<std::vector<Vec3>, 256> out;
    const Cell3 cell;
    for (int code = 0; code < 256; ++code) {
      const int bits = __builtin_popcount(code);
      const int c = bits < 4 ? code : bits > 4 ? 255 - code : std::min(code, 255 - code);
      for (const auto& loop : surface_loops(cell, c)) {
        std::vector<Vec3> pts;
        for (int e : loop) pts.push_back(cell.midpoint(e));
        const auto apex_it = std::min_element(pts.begin(), pts.end(), [](const Vec3& x, const Vec3& y) {
          return std::make_tuple(x[2], x[1], x[0]) < std::make_tuple(y[2], y[1], y[0]);
        });
        std::rotate(pts.begin(), apex_it, pts.end());
        for (size_t i = 1; i + 1 < pts.size(); ++i) out[code].push_back(half_cross(pts[0], pts[i], pts[i + 1]));
      }
    }
    return out;
  }();
  return table;
}

}  // namespace

std::array<double, 16> contour_length_table(double spacing0, double spacing1) {
  // Marching squares on the cell with corners (a, b): each edge separating an inside from an outside
  // corner holds a contour vertex at its midpoint. With one or three inside corners the contour is one
  // segment between two adjacent edge midpoints (half the cell diagonal); with two corners on one side
  // it crosses the cell (one spacing); with two diagonal corners it is two such half-diagonals.
  std::array<double, 16> out{};
  const double half_diag = 0.5 * std::hypot(spacing0, spacing1);
  for (int code = 0; code < 16; ++code) {
    auto in = [&](int a, int b) { return (code >> (3 - (2 * a + b))) & 1; };
    const int n = __builtin_popcount(code);
    if (n == 1 || n == 3) {
      out[code] = half_diag;
    } else if (n == 2) {
      if (in(0, 0) == in(0, 1)) out[code] = spacing1;       // rows differ: contour runs along axis 1
      else if (in(0, 0) == in(1, 0)) out[code] = spacing0;  // columns differ: contour runs along axis 0
      else out[code] = 2 * half_diag;                       // diagonal pair (saddle)
    }
  }
  return out;
}

std::array<double, 256> surface_area_table(const std::array<double, 3>& s) {
  std::array<double, 256> out{};
  const auto& normals = triangle_normals();
  for (int code = 0; code < 256; ++code)
    for (const auto& n : normals[code])
      out[code] += std::sqrt(std::pow(n[0] * s[1] * s[2], 2) + std::pow(n[1] * s[0] * s[2], 2) +
                             std::pow(n[2] * s[0] * s[1], 2));
  return out;
}

}  // namespace medsam::eval

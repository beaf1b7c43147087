#include "medsam/io/volume_geometry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace medsam::io {

std::optional<std::string> geometry_difference(const VolumeGeometry& a, const VolumeGeometry& b) {
  static constexpr char kAxis[] = {'x', 'y', 'z'};
  for (int i = 0; i < 3; ++i) {
    const double sa = a.spacing[i], sb = b.spacing[i];
    if (std::abs(sa - sb) > 1e-3 * std::max(std::abs(sa), 1.0))
      return fmt::format("spacing differs on {} ({:.6g} vs {:.6g} mm)", kAxis[i], sa, sb);
  }
  for (int i = 0; i < 3; ++i) {
    const double oa = a.origin[i], ob = b.origin[i];
    if (std::abs(oa - ob) > 1e-2 * std::max(1.0, std::abs(a.spacing[i])))
      return fmt::format("origin differs on {} ({:.6g} vs {:.6g} mm)", kAxis[i], oa, ob);
  }
  for (int col = 0; col < 3; ++col) {  // columns: the directions of the x, y, z index axes
    double worst = 0;
    for (int row = 0; row < 3; ++row) worst = std::max(worst, std::abs(a.direction[row * 3 + col] - b.direction[row * 3 + col]));
    if (worst > 1e-3)
      return fmt::format("the {} axis points another way ({:.3f},{:.3f},{:.3f} vs {:.3f},{:.3f},{:.3f}: flipped or permuted axes)",
                         kAxis[col], a.direction[col], a.direction[3 + col], a.direction[6 + col], b.direction[col],
                         b.direction[3 + col], b.direction[6 + col]);
  }
  return std::nullopt;
}

}  // namespace medsam::io

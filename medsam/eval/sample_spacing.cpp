#include "medsam/eval/sample_spacing.h"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>

#include "medsam/core/error.h"

namespace medsam::eval {

PixelSpacing sample_pixel_spacing(const std::string& json, int64_t stored_height, int64_t stored_width,
                                  const std::string& what) {
  PixelSpacing out;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json);
  } catch (const std::exception& e) {
    throw Error(fmt::format("{}: metadata JSON: {}", what, e.what()));
  }
  if (!j.contains("spacing") || !j.contains("axis")) {
    // A 2D image: 1 mm per *original* pixel (what scoring it at its own size assumes), so a 512² image
    // stored at 1024² has 0.5 mm stored pixels and the tolerance keeps its meaning.
    if (!j.contains("original_size")) return out;
    try {
      const auto original = j.at("original_size").get<std::array<double, 2>>();
      out.rows_cols = {original[0] / static_cast<double>(stored_height), original[1] / static_cast<double>(stored_width)};
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("{}: metadata original_size: {}", what, e.what()));
    }
    for (double s : out.rows_cols)
      if (!(s > 0)) throw Error(fmt::format("{}: metadata gives a pixel spacing of {} mm", what, s));
    return out;  // from_metadata stays false: the 1 mm is assumed
  }
  try {
    const auto itk = j.at("spacing").get<std::array<double, 3>>();  // (x, y, z)
    const std::string axis = j.at("axis").get<std::string>();
    // Tensor axes (z, y, x); the slice keeps the two that are not the slicing axis, in order.
    const std::array<double, 3> zyx{itk[2], itk[1], itk[0]};
    const int cut = axis == "z" ? 0 : axis == "y" ? 1 : axis == "x" ? 2 : -1;
    if (cut < 0) throw Error(fmt::format("{}: metadata axis '{}' is not z, y or x", what, axis));
    std::array<double, 2> plane{};
    for (int a = 0, k = 0; a < 3; ++a)
      if (a != cut) plane[k++] = zyx[a];
    std::array<double, 2> original{static_cast<double>(stored_height), static_cast<double>(stored_width)};
    if (j.contains("original_size")) original = j.at("original_size").get<std::array<double, 2>>();
    out.rows_cols = {plane[0] * original[0] / static_cast<double>(stored_height),
                     plane[1] * original[1] / static_cast<double>(stored_width)};
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: metadata spacing/axis/original_size: {}", what, e.what()));
  }
  for (double s : out.rows_cols)
    if (!(s > 0)) throw Error(fmt::format("{}: metadata gives a pixel spacing of {} mm", what, s));
  out.from_metadata = true;
  return out;
}

}  // namespace medsam::eval

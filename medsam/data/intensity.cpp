#include "medsam/data/intensity.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>

#include "medsam/core/error.h"

namespace medsam::data {
namespace {

// (x - min) / (max - min) * 255 on float64 (numpy's promotion for integer input), truncated to uint8.
// ref: MedSAM pre_CT_MR.py image_data_pre = (x - min) / (max - min) * 255.0; np.uint8(...)
// Non-finite voxels (NaN outside a resampled field of view, +-inf in parameter maps) must neither set the
// range nor turn the whole image black through a NaN minimum: NaN and -inf become the finite minimum, +inf
// the maximum. All zero when nothing is finite.
at::Tensor finite_values(const at::Tensor& values) {
  if (!values.is_floating_point()) return values;
  const at::Tensor finite = torch::isfinite(values);
  if (finite.all().item<bool>()) return values;
  if (!finite.any().item<bool>()) return torch::zeros_like(values);
  const at::Tensor kept = values.masked_select(finite);
  const double min = kept.min().item<double>(), max = kept.max().item<double>();
  return at::nan_to_num(values, min, max, min);
}

at::Tensor minmax_to_uint8(const at::Tensor& values) {
  const at::Tensor clipped = finite_values(values);
  const double lo = clipped.min().item<double>();
  const double hi = clipped.max().item<double>();
  if (!(hi > lo)) return torch::zeros(clipped.sizes(), torch::kByte);
  return ((clipped - lo) / (hi - lo) * 255.0).clamp(0.0, 255.0).to(torch::kByte);  // to(kByte) truncates
}

}  // namespace

const std::vector<WindowPreset>& ct_window_presets() {
  static const std::vector<WindowPreset> presets = {
      {"soft_tissue", {40, 400}, "MedSAM default for CT (abdomen, neck, pelvis)"},
      {"abdomen", {40, 400}, "same as soft_tissue"},
      {"lung", {-600, 1500}, "chest/lung as in MedSAM's code (L -160 is quoted elsewhere)"},
      {"brain", {40, 80}, "head CT, brain parenchyma"},
      {"bone", {400, 1800}, "skeleton"},
      {"mediastinum", {50, 350}, "chest soft tissue"},
      {"liver", {60, 160}, "liver parenchyma"},
  };
  return presets;
}

CtWindow ct_window_preset(const std::string& name) {
  std::string names;
  for (const auto& p : ct_window_presets()) {
    if (name == p.name) return p.window;
    names += (names.empty() ? "" : ", ") + std::string(p.name);
  }
  throw UsageError(fmt::format("unknown CT window preset '{}' (known: {}; or give level and width)", name, names));
}

at::Tensor normalize_ct_window(const at::Tensor& volume, CtWindow window) {
  if (!(window.width > 0)) throw UsageError(fmt::format("CT window width must be > 0, got {}", window.width));
  const double lower = window.level - window.width / 2.0;
  const double upper = window.level + window.width / 2.0;
  return minmax_to_uint8(volume.to(torch::kDouble).clamp(lower, upper));
}

double percentile(const at::Tensor& values, double percent) {
  auto flat = values.reshape({-1});
  const int64_t n = flat.numel();
  if (n == 0) throw Error("percentile of an empty set");
  // ref: numpy.percentile(method="linear"): position (n-1) * p/100 between the sorted neighbours.
  const double pos = (n - 1) * (percent / 100.0);
  const int64_t below = static_cast<int64_t>(std::floor(pos));
  const int64_t above = std::min<int64_t>(below + 1, n - 1);
  const double frac = pos - below;
  // kthvalue is 1-based and O(n); two calls beat a full sort on large volumes.
  const double a = std::get<0>(flat.kthvalue(below + 1)).item<double>();
  const double b = above == below ? a : std::get<0>(flat.kthvalue(above + 1)).item<double>();
  return a + (b - a) * frac;
}

at::Tensor normalize_percentile(const at::Tensor& volume, double low_percent, double high_percent) {
  if (!(low_percent >= 0 && low_percent < high_percent && high_percent <= 100))
    throw UsageError(fmt::format("percentiles must satisfy 0 <= low < high <= 100, got {} and {}", low_percent,
                                 high_percent));
  const auto positive = volume.masked_select((volume > 0).logical_and(torch::isfinite(volume)));
  if (positive.numel() == 0) return torch::zeros(volume.sizes(), torch::kByte);
  const double lower = percentile(positive, low_percent);
  const double upper = percentile(positive, high_percent);
  auto out = minmax_to_uint8(volume.to(torch::kDouble).clamp(lower, upper));
  // ref: MedSAM pre_CT_MR.py image_data_pre[image_data == 0] = 0
  out.masked_fill_(volume == 0, 0);
  return out;
}

at::Tensor normalize_2d_image(const at::Tensor& raw) {
  if (raw.scalar_type() == torch::kByte) return raw;
  const at::Tensor image = finite_values(raw);
  const double lo = image.min().item<double>(), hi = image.max().item<double>();
  // ref: MedSAM pre_grey_rgb2D.py: images with values > 255 are min-max scaled to uint8
  if (hi > 255.0 || lo < 0.0) return minmax_to_uint8(image.to(torch::kDouble));
  return image.to(torch::kByte);
}

}  // namespace medsam::data

#include "medsam/data/normalize.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>

#include "medsam/core/error.h"
#include "medsam/data/modality.h"

namespace medsam::data {
namespace {

// Strict number: the whole text (spaces aside) must be the number ("40x" is not 40).
bool parse_double(const std::string& text, double& out) {
  const char* begin = text.c_str();
  char* end = nullptr;
  out = std::strtod(begin, &end);
  if (end == begin) return false;
  while (*end == ' ' || *end == '\t') ++end;
  return *end == '\0';
}

bool in_uint8_range(const at::Tensor& raw) {
  if (raw.scalar_type() == at::kByte) return true;
  if (raw.numel() == 0) return true;
  const auto d = raw.to(at::kDouble);
  return d.min().item<double>() >= 0 && d.max().item<double>() <= 255 && torch::equal(d, d.round());
}

bool is_colour_photo(Modality m) {
  return m == Modality::kEndoscopy || m == Modality::kDermoscopy || m == Modality::kFundus ||
         m == Modality::kPathology;
}

std::string resolve_auto(const at::Tensor& raw, const IntensitySpec& spec) {
  if (spec.modality == "auto") {
    if (!spec.window.empty()) return "window";
    return in_uint8_range(raw) ? "none" : "percentile";
  }
  const Modality m = parse_modality(spec.modality);
  if (is_ct(m)) return "window";
  if (is_colour_photo(m)) return "image";
  return "percentile";
}

}  // namespace

CtWindow parse_ct_window(const std::string& text) {
  if (text.empty()) return ct_window_preset("soft_tissue");
  const auto comma = text.find(',');
  if (comma == std::string::npos) {
    std::string name = text;
    std::replace(name.begin(), name.end(), '-', '_');
    return ct_window_preset(name);
  }
  double level = 0, width = 0;
  if (text.find(',', comma + 1) != std::string::npos || !parse_double(text.substr(0, comma), level) ||
      !parse_double(text.substr(comma + 1), width) || !(width > 0))
    throw UsageError(fmt::format("CT window '{}': expected L,W (e.g. 40,400) with W > 0, or a preset name", text));
  return CtWindow{level, width};
}

NormalizedImage normalize_for(const at::Tensor& raw, const IntensitySpec& spec) {
  if (spec.modality != "auto") {
    const Modality m = parse_modality(spec.modality);  // throws UsageError listing the known names
    if (!spec.window.empty() && !is_ct(m) && spec.mode != "window")
      throw UsageError(fmt::format("a CT window ('{}') applies to CT only, not to modality '{}'", spec.window,
                                   spec.modality));
  }
  const std::string mode = spec.mode == "auto" ? resolve_auto(raw, spec) : spec.mode;
  if (mode == "window") {
    const CtWindow w = parse_ct_window(spec.window);
    return {normalize_ct_window(raw, w), fmt::format("ct window L{} W{}", w.level, w.width)};
  }
  if (mode == "percentile")
    return {normalize_percentile(raw, spec.percentile_low, spec.percentile_high),
            fmt::format("percentile {}-{} of non-zero voxels", spec.percentile_low, spec.percentile_high)};
  if (mode == "image") {
    const bool rescaled = raw.scalar_type() != at::kByte && !in_uint8_range(raw);
    return {normalize_2d_image(raw), rescaled ? "min-max to uint8 (values outside 0..255)" : "none"};
  }
  if (mode == "none") {
    if (!in_uint8_range(raw)) {
      const auto d = raw.to(at::kDouble);
      throw UsageError(fmt::format("intensity mode none needs 0..255 integer data, this spans {}..{}",
                                   d.min().item<double>(), d.max().item<double>()));
    }
    return {raw.to(at::kByte), "none"};
  }
  throw UsageError(fmt::format("intensity mode '{}' is not auto, window, percentile, image or none", spec.mode));
}

}  // namespace medsam::data

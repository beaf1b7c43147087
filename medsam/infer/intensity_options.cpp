#include "medsam/infer/intensity_options.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>

#include "medsam/core/error.h"
#include "medsam/data/intensity.h"
#include "medsam/data/modality.h"
#include "medsam/infer/prompt_file.h"

namespace medsam::infer {
namespace {

data::CtWindow parse_window(const std::string& text) {
  if (text.empty()) return data::ct_window_preset("soft_tissue");
  const auto comma = text.find(',');
  if (comma == std::string::npos) {
    std::string name = text;
    std::replace(name.begin(), name.end(), '-', '_');
    return data::ct_window_preset(name);
  }
  // The shared number-list parser rejects trailing junk ("40x,400") that std::stod alone would accept.
  const auto v = parse_number_list(text, 2, "--window");
  if (!(v[1] > 0))
    throw UsageError(fmt::format("--window '{}': expected L,W (e.g. 40,400) with W > 0, or a preset name", text));
  return data::CtWindow{v[0], v[1]};
}

bool fits_uint8(const at::Tensor& raw) {
  if (raw.scalar_type() == at::kByte) return true;
  return raw.min().item<double>() >= 0 && raw.max().item<double>() <= 255 &&
         torch::equal(raw.to(at::kDouble), raw.to(at::kDouble).round());
}

}  // namespace

at::Tensor normalize_intensity(const at::Tensor& raw, const IntensityOptions& options) {
  if (options.modality == "auto") {
    if (!options.window.empty()) return data::normalize_ct_window(raw, parse_window(options.window));
    return fits_uint8(raw) ? raw.to(at::kByte) : data::normalize_percentile(raw, options.percentile_low,
                                                                            options.percentile_high);
  }
  const data::Modality m = data::parse_modality(options.modality);
  if (data::is_ct(m)) return data::normalize_ct_window(raw, parse_window(options.window));
  if (!options.window.empty())
    throw UsageError(fmt::format("--window applies to CT only, not to modality '{}'", options.modality));
  switch (m) {
    case data::Modality::kMr:
    case data::Modality::kPet:
    case data::Modality::kUltrasound:
    case data::Modality::kXray:
    case data::Modality::kMammography:
    case data::Modality::kOct:
      return data::normalize_percentile(raw, options.percentile_low, options.percentile_high);
    default:  // colour photographs (endoscopy, dermoscopy, fundus, pathology) and other: MedSAM's 2D rule
      return data::normalize_2d_image(raw);
  }
}

}  // namespace medsam::infer

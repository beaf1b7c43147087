#include "data_prep/case_warnings.h"

#include <fmt/format.h>

#include "data_prep/convert_case.h"
#include "data_prep/prep_config.h"
#include "medsam/core/log.h"
#include "medsam/data/modality.h"
#include "medsam/data/normalize.h"

namespace medsam::prep {

bool DatasetWarnings::first(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.insert(key).second;
}

void warn_if_windowing_uint8(const at::Tensor& raw, const data::IntensitySpec& spec, const std::string& path,
                             const CaseContext& ctx) {
  if (raw.scalar_type() != at::kByte) return;
  const bool ct = spec.modality != "auto" && data::is_ct(data::parse_modality(spec.modality));
  if (!(spec.mode == "window" || (spec.mode == "auto" && ct))) return;
  const auto& dataset = ctx.config->dataset.name;
  if (ctx.warnings && !ctx.warnings->first(dataset + "\nuint8 ct window")) return;
  const auto w = data::parse_ct_window(spec.window);
  log_warn("prep: dataset {}: {} holds uint8 values, which look already windowed (Hounsfield units need int16 or "
           "float); the CT window L{} W{} is applied to them again. Set intensity.mode: none to keep the grey levels "
           "as they are (said once per dataset)",
           dataset, path, w.level, w.width);
}

}  // namespace medsam::prep

// Warnings about a dataset as a whole (its files' type, not one bad file), logged once per dataset per
// run instead of once per case.
#pragma once

#include <ATen/Tensor.h>

#include <mutex>
#include <set>
#include <string>

namespace medsam::data {
struct IntensitySpec;
}

namespace medsam::prep {

struct CaseContext;

// Which (dataset, warning) pairs this run has logged; shared by the conversion workers.
class DatasetWarnings {
 public:
  // True the first time `key` is seen (the caller then logs), false after.
  bool first(const std::string& key);

 private:
  std::mutex mu_;
  std::set<std::string> seen_;
};

// A CT window applied to uint8 data (a PNG exported from a viewer) windows values that are most likely
// already windowed display grey levels, not Hounsfield units: logs a warning naming the dataset and
// `path`, once per dataset (every time when ctx.warnings is null). The data is converted as configured.
void warn_if_windowing_uint8(const at::Tensor& raw, const data::IntensitySpec& spec, const std::string& path,
                             const CaseContext& ctx);

}  // namespace medsam::prep

#include "medsam/core/precision.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <utility>

#include "medsam/core/device.h"
#include "medsam/core/error.h"
#include "medsam/core/log.h"

namespace medsam {

namespace {

// Every precision by its name, in the order help texts list them: the one table the names and the parse
// come from.
const std::vector<std::pair<std::string, Precision>>& precision_table() {
  static const std::vector<std::pair<std::string, Precision>> table{
      {"fp32", Precision::kFp32}, {"bf16", Precision::kBf16}, {"bf16-autocast", Precision::kBf16Autocast}};
  return table;
}

}  // namespace

const std::vector<std::string>& precision_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [name, precision] : precision_table()) out.push_back(name);
    return out;
  }();
  return names;
}

std::string precision_names_text() {
  const auto& names = precision_names();
  return fmt::format("{} or {}", fmt::join(names.begin(), names.end() - 1, ", "), names.back());
}

Precision parse_precision(const std::string& name, c10::Device device, const std::string& option) {
  const auto& table = precision_table();
  const auto entry = std::find_if(table.begin(), table.end(), [&](const auto& e) { return e.first == name; });
  if (entry == table.end()) throw UsageError(fmt::format("{} '{}': use {}", option, name, precision_names_text()));
  if (is_bf16(entry->second) && !device.is_cuda() && !cpu_has_native_bf16())
    log_warn("{} {} on a CPU without AVX512-BF16/AMX: LibTorch emulates bf16 there, slower than fp32", option, name);
  return entry->second;
}

PrecisionScope::PrecisionScope(Precision precision, c10::Device device, ModelPart part) {
  if (!is_bf16(precision)) return;
  if (device.is_cuda()) {
    scope_.emplace(c10::DeviceType::CUDA, at::kBFloat16);
  } else if (part == ModelPart::kImageEncoder) {
    scope_.emplace(c10::DeviceType::CPU, at::kBFloat16);
  }
}

}  // namespace medsam

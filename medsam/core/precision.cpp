#include "medsam/core/precision.h"

#include <fmt/format.h>

#include "medsam/core/device.h"
#include "medsam/core/error.h"
#include "medsam/core/log.h"

namespace medsam {

const std::vector<std::string>& precision_names() {
  static const std::vector<std::string> names{"fp32", "bf16", "bf16-autocast"};
  return names;
}

std::string precision_names_text() {
  const auto& names = precision_names();
  return fmt::format("{} or {}", fmt::join(names.begin(), names.end() - 1, ", "), names.back());
}

Precision parse_precision(const std::string& name, c10::Device device, const std::string& option) {
  if (name == "fp32") return Precision::kFp32;
  if (name != "bf16" && name != "bf16-autocast")
    throw UsageError(fmt::format("{} '{}': use {}", option, name, precision_names_text()));
  if (!device.is_cuda() && !cpu_has_native_bf16())
    log_warn("{} {} on a CPU without AVX512-BF16/AMX: LibTorch emulates bf16 there, slower than fp32", option, name);
  return name == "bf16" ? Precision::kBf16 : Precision::kBf16Autocast;
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

#include "medsam/core/precision.h"

#include <fmt/format.h>

#include "medsam/core/device.h"
#include "medsam/core/error.h"
#include "medsam/core/log.h"

namespace medsam {

Precision parse_precision(const std::string& name, c10::Device device, const std::string& option) {
  if (name == "fp32") return Precision::kFp32;
  if (name != "bf16" && name != "bf16-autocast")
    throw UsageError(fmt::format("{} '{}': use fp32, bf16 or bf16-autocast", option, name));
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

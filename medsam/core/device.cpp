#include "medsam/core/device.h"

#include <fmt/format.h>
#include <torch/cuda.h>

#include <fstream>
#include <sstream>
#include <string>

#include "medsam/core/build_config.h"
#include "medsam/core/error.h"

#if MEDSAM_HAVE_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace medsam {

c10::Device parse_device(const std::string& name, const std::string& what) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "auto") return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw UsageError(fmt::format("{} {}: no CUDA device is available ({})", what, name,
                                   MEDSAM_HAVE_CUDA ? "none visible; check CUDA_VISIBLE_DEVICES and the driver"
                                                    : "this build uses a CPU-only LibTorch"));
    c10::Device device(c10::kCUDA, 0);
    try {
      device = c10::Device(name);
    } catch (const std::exception&) {
      throw UsageError(fmt::format("{} '{}': use cpu, cuda or cuda:N", what, name));
    }
    const auto count = static_cast<int64_t>(torch::cuda::device_count());
    if (device.has_index() && device.index() >= count)
      throw UsageError(fmt::format("{} {}: only {} CUDA device(s) visible", what, name, count));
    if (!device.has_index()) device = c10::Device(c10::kCUDA, 0);
    return device;
  }
  throw UsageError(fmt::format("{} '{}': use cpu, cuda[:N] or auto", what, name));
}

void synchronize(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

double cuda_peak_allocated_mib(const c10::Device& device) {
#if MEDSAM_HAVE_CUDA
  if (device.is_cuda()) {
    // Stat index 0 is the aggregate over the small and large pools.
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    return static_cast<double>(stats.allocated_bytes[0].peak) / (1 << 20);
  }
#endif
  (void)device;
  return -1;
}

void reset_cuda_peak(const c10::Device& device) {
#if MEDSAM_HAVE_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#endif
  (void)device;
}

bool cpu_has_native_bf16() {
  static const bool has = [] {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      std::istringstream words(line);
      std::string w;
      while (words >> w)
        if (w == "avx512_bf16" || w == "amx_bf16") return true;
      return false;  // the first CPU's flags speak for all
    }
    return false;
  }();
  return has;
}

}  // namespace medsam

#include "tools/bench_attention.h"

#include <CLI/CLI.hpp>

#include <map>

#include "medsam/core/torch_compat.h"
#include "medsam/model/attention.h"

namespace medsam::tools::bench {
namespace {

const std::map<std::string, compat::SdpaKernel>& sdpa_kernels() {
  static const std::map<std::string, compat::SdpaKernel> kernels{{"auto", compat::SdpaKernel::kAuto},
                                                                 {"flash", compat::SdpaKernel::kFlash},
                                                                 {"efficient", compat::SdpaKernel::kEfficient},
                                                                 {"cudnn", compat::SdpaKernel::kCudnn},
                                                                 {"math", compat::SdpaKernel::kMath}};
  return kernels;
}

}  // namespace

void add_attention_options(CLI::App& sub, std::string& attention, std::string& sdpa) {
  sub.add_option("--attention", attention,
                 "image encoder attention: fast (chosen per device and precision), reference (SAM's formula), "
                 "chunks (our chunked path, never SDPA), folded (one SDPA call with rel-pos folded into q and k, "
                 "any precision), folded-narrow-v (folded, v at its own head dim: for cudnn or efficient)")
      ->capture_default_str()
      ->check(CLI::IsMember(attention_path_names()));
  sub.add_option("--sdpa", sdpa,
                 "GPU attention kernel tried first by scaled_dot_product_attention: auto (LibTorch's order), "
                 "flash, efficient, cudnn or math (LibTorch 2.7+); the run prints the kernel each call got")
      ->capture_default_str()
      ->check(CLI::IsMember(sdpa_kernels()));
}

void apply_sdpa_option(const std::string& value) { compat::prefer_sdpa_kernel(sdpa_kernels().at(value)); }

std::string sdpa_kernels_of(const std::function<void()>& run) {
  start_recording_sdpa_kernels();
  try {
    run();
  } catch (...) {
    stop_recording_sdpa_kernels();
    throw;
  }
  std::string text;
  for (const std::string& line : stop_recording_sdpa_kernels()) text += "sdpa: " + line + "\n";
  return text;
}

}  // namespace medsam::tools::bench

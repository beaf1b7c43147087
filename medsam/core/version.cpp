#include "medsam/core/version.h"

#include <fmt/format.h>
#include <torch/cuda.h>

#include "medsam/core/build_config.h"
#include "medsam/core/torch_compat.h"

namespace medsam {

bool built_with_cuda() { return MEDSAM_HAVE_CUDA != 0; }

bool cuda_available() { return torch::cuda::is_available(); }

std::string version_string() {
  std::string cuda = "no";
  if (built_with_cuda()) cuda = cuda_available() ? fmt::format("yes ({} devices)", torch::cuda::device_count()) : "built, no device";
  return fmt::format("medsam {} (LibTorch {}, CUDA: {}, OpenCV: {}, ITK: {})", MEDSAM_VERSION,
                     compat::torch_version(), cuda, MEDSAM_HAVE_OPENCV ? "yes" : "no", MEDSAM_HAVE_ITK ? "yes" : "no");
}

}  // namespace medsam

#pragma once
#include <string>

namespace medsam {
// "medsam 0.1.0 (LibTorch 1.13.0, CUDA: no)": what `medsam --version` prints.
std::string version_string();
// Whether this build can use CUDA at all, and whether a device is visible now.
bool built_with_cuda();
bool cuda_available();
}  // namespace medsam

# Finds every dependency once. Required: LibTorch, yaml-cpp, fmt. Optional: OpenCV, ITK (switchable),
# CLI11 and nlohmann-json (header-only; required for the `medsam` tool), Catch2 (tests), Gloo (dist on CPU).

find_package(Torch REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(Threads REQUIRED)

# CUDA: decided by the LibTorch we found (a CPU LibTorch cannot run CUDA whatever we ask).
set(_torch_has_cuda OFF)
if(TARGET torch_cuda OR CUDA_FOUND OR TORCH_CUDA_LIBRARIES)
  set(_torch_has_cuda ON)
endif()
if(MEDSAM_WITH_CUDA STREQUAL "AUTO")
  set(MEDSAM_HAVE_CUDA ${_torch_has_cuda})
elseif(MEDSAM_WITH_CUDA AND NOT _torch_has_cuda)
  message(FATAL_ERROR "MEDSAM_WITH_CUDA=ON but the LibTorch at ${Torch_DIR} has no CUDA")
else()
  set(MEDSAM_HAVE_CUDA ${MEDSAM_WITH_CUDA})
endif()

set(MEDSAM_HAVE_OPENCV OFF)
if(MEDSAM_WITH_OPENCV)
  find_package(OpenCV REQUIRED COMPONENTS core imgproc imgcodecs)
  set(MEDSAM_HAVE_OPENCV ON)
endif()

set(MEDSAM_HAVE_ITK OFF)
if(MEDSAM_WITH_ITK)
  find_package(ITK REQUIRED COMPONENTS
    ITKCommon ITKIOImageBase ITKIONIFTI ITKIOGDCM ITKIOMeta ITKIONRRD ITKIOPNG ITKImageIntensity)
  set(MEDSAM_HAVE_ITK ON)
endif()

# Gloo process groups (CPU distributed training): Debian's LibTorch exports the symbols; the headers
# come from libgloo-dev.
find_path(MEDSAM_GLOO_INCLUDE gloo/config.h)
if(MEDSAM_GLOO_INCLUDE)
  set(MEDSAM_HAVE_GLOO ON)
else()
  set(MEDSAM_HAVE_GLOO OFF)
endif()

if(MEDSAM_BUILD_TESTS)
  find_package(Catch2 REQUIRED)
  include(Catch)
endif()

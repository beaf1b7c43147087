# Finds every dependency once. Required: LibTorch, yaml-cpp, fmt. Optional: OpenCV, ITK (switchable),
# CLI11 and nlohmann-json (header-only; required for the `medsam` tool), Catch2 (tests), Gloo (dist on CPU).

find_package(Torch REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(fmt REQUIRED)
# pip's torch may carry its own, newer fmt headers in torch/include, which then shadow the system's:
# compiled against those but linked to the system's libfmt, the tools fail to link. Header-only fmt
# keeps headers and code in step whichever headers win. AUTO turns it on when torch/include has fmt.
set(MEDSAM_FMT_HEADER_ONLY "AUTO" CACHE STRING "fmt header-only: AUTO, ON or OFF")
set(_fmt_header_only ${MEDSAM_FMT_HEADER_ONLY})
if(_fmt_header_only STREQUAL "AUTO")
  set(_fmt_header_only OFF)
  foreach(dir IN LISTS TORCH_INCLUDE_DIRS)
    if(EXISTS "${dir}/fmt/format.h" AND NOT dir STREQUAL "/usr/include")
      set(_fmt_header_only ON)
    endif()
  endforeach()
endif()
if(_fmt_header_only)
  set(MEDSAM_FMT fmt::fmt-header-only)
else()
  set(MEDSAM_FMT fmt::fmt)
endif()
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

# Hand-written CUDA kernels (medsam/model/cuda/*.cu, docs/gpu.md): built by a CUDA compiler (nvcc) where the
# LibTorch has CUDA and one is found; without them the ATen code they replace runs. enable_language must
# run in the top directory's scope, which is this file's.
set(MEDSAM_CUDA_KERNELS "AUTO" CACHE STRING "CUDA kernels (medsam/model/cuda): AUTO (with a CUDA LibTorch and nvcc), ON or OFF")
set(MEDSAM_CUDA_ARCHITECTURES "80;90" CACHE STRING "GPU architectures the CUDA kernels are compiled for (80: A100, 90: H100/H200)")
set(MEDSAM_HAVE_CUDA_KERNELS OFF)
if(MEDSAM_HAVE_CUDA AND NOT MEDSAM_CUDA_KERNELS STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    set(MEDSAM_HAVE_CUDA_KERNELS ON)
  elseif(MEDSAM_CUDA_KERNELS STREQUAL "ON")
    message(FATAL_ERROR "MEDSAM_CUDA_KERNELS=ON but no CUDA compiler was found (set CUDACXX or CMAKE_CUDA_COMPILER)")
  else()
    message(STATUS "No CUDA compiler found: the CUDA kernels are not built (the ATen code they replace runs)")
  endif()
elseif(MEDSAM_CUDA_KERNELS STREQUAL "ON")
  message(FATAL_ERROR "MEDSAM_CUDA_KERNELS=ON needs a CUDA LibTorch (MEDSAM_HAVE_CUDA is OFF)")
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

# `medsam serve` (medsam/serve/): cpp-httplib (Debian's libcpp-httplib-dev: a compiled library found
# through pkg-config) and OpenSSL's libcrypto (SHA-256 image ids; httplib needs OpenSSL anyway). AUTO
# builds the server when both are there; without them `medsam serve` says what is missing.
set(MEDSAM_HAVE_HTTP OFF)
if(NOT MEDSAM_WITH_HTTP STREQUAL "OFF")
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(MEDSAM_HTTPLIB QUIET cpp-httplib)
  endif()
  find_package(OpenSSL QUIET COMPONENTS Crypto)
  if(MEDSAM_HTTPLIB_FOUND AND OpenSSL_FOUND)
    set(MEDSAM_HAVE_HTTP ON)
  elseif(MEDSAM_WITH_HTTP STREQUAL "ON")
    message(FATAL_ERROR "MEDSAM_WITH_HTTP=ON but cpp-httplib (pkg-config cpp-httplib: libcpp-httplib-dev) "
                        "or OpenSSL (libssl-dev) was not found")
  endif()
endif()

# Gloo process groups (CPU distributed training): Debian's LibTorch exports the symbols; the headers
# come from libgloo-dev.
find_path(MEDSAM_GLOO_INCLUDE gloo/config.h HINTS ${TORCH_INCLUDE_DIRS})
if(MEDSAM_GLOO_INCLUDE)
  set(MEDSAM_HAVE_GLOO ON)
else()
  set(MEDSAM_HAVE_GLOO OFF)
endif()

# NCCL process groups (CUDA builds): ProcessGroupNCCL.hpp includes <nccl.h>, which a LibTorch tarball
# carries but pip's torch leaves to its nvidia-nccl wheel (site-packages/nvidia/nccl/include: pass
# -DMEDSAM_NCCL_INCLUDE=... or set NCCL_INCLUDE_DIR; scripts/gpu/run-checks does).
set(MEDSAM_HAVE_NCCL OFF)
if(MEDSAM_HAVE_CUDA)
  find_path(MEDSAM_NCCL_INCLUDE nccl.h HINTS ${TORCH_INCLUDE_DIRS} ENV NCCL_INCLUDE_DIR)
  if(MEDSAM_NCCL_INCLUDE)
    set(MEDSAM_HAVE_NCCL ON)
  else()
    message(WARNING "CUDA LibTorch but no nccl.h found: medsam is built without the nccl backend "
                    "(set -DMEDSAM_NCCL_INCLUDE=<dir containing nccl.h>)")
  endif()
endif()

if(MEDSAM_BUILD_TESTS)
  find_package(Catch2 REQUIRED)
  include(Catch)
endif()

// ProcessGroupNCCL: collectives between GPUs, one GPU per process (the one at LOCAL_RANK).
#include "medsam/dist/c10d_internal.h"

// ProcessGroupNCCL.hpp compiles to nothing unless USE_C10D_NCCL is defined. Debian's and the tarball's
// exported targets define it for CUDA builds; pip's torch does not always, although its Linux CUDA
// builds all contain NCCL. MEDSAM_HAVE_NCCL (nccl.h found at configure time) stands in for it.
#if MEDSAM_HAVE_CUDA && MEDSAM_HAVE_NCCL && !defined(USE_C10D_NCCL)
#define USE_C10D_NCCL 1
#endif
#if MEDSAM_HAVE_CUDA && MEDSAM_HAVE_NCCL && defined(USE_C10D_NCCL)
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define MEDSAM_DIST_NCCL 1
#else
#define MEDSAM_DIST_NCCL 0
#endif

#include <fmt/format.h>

#include <cstdlib>

#include "medsam/core/error.h"

namespace medsam::dist::detail {

bool nccl_available() {
#if MEDSAM_DIST_NCCL
  return c10::cuda::device_count() > 0;
#else
  return false;
#endif
}

BackendPtr create_nccl_backend(const StorePtr& store, const Rendezvous& r, std::chrono::milliseconds timeout,
                               c10::Device* device_out) {
#if MEDSAM_DIST_NCCL
  // ref: torch/distributed/elastic/agent/server/local_elastic_agent.py: torchrun turns on NCCL's
  // asynchronous error handling unless told otherwise, so that a collective whose peer died or timed out
  // tears this process down instead of hanging. ProcessGroupNCCL reads it when constructed.
  ::setenv(compat::kNcclAsyncErrorHandlingEnv, "1", /*overwrite=*/0);
  const int count = c10::cuda::device_count();
  if (count == 0) throw Error("nccl backend: no CUDA device is visible (check CUDA_VISIBLE_DEVICES)");
  const auto index = static_cast<c10::DeviceIndex>(r.local_rank % count);
  c10::cuda::set_device(index);
  *device_out = c10::Device(c10::kCUDA, index);
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, r.rank, r.world_size, options);
#else
  (void)store, (void)r, (void)timeout, (void)device_out;
  throw Error("the nccl backend needs a CUDA build of medsam (a CUDA LibTorch on CMAKE_PREFIX_PATH); use gloo");
#endif
}

}  // namespace medsam::dist::detail

// The one place that knows LibTorch 1.13 (Debian, CPU) from LibTorch 2.x (CUDA clusters).
// Everything else calls these names and never tests TORCH_VERSION_* itself.
#pragma once

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#define MEDSAM_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// Calls into LibTorch 2.x that no 2.x build has compiled yet go behind MEDSAM_TORCH_UNTRIED: the development
// machines have only Debian's 1.13, and a GPU machine comes rarely and for minutes. CMake's
// MEDSAM_TORCH_UNTRIED_APIS (default ON) sets MEDSAM_UNTRIED_APIS; OFF compiles the portable fallbacks
// instead, which scripts/gpu/run-checks does by itself when the first build fails, so that a GPU session
// still gets its tests and numbers. A call leaves this guard (for MEDSAM_TORCH_AT_LEAST) once a 2.x build
// has compiled it (docs/gpu.md). None is behind it now: the last four compiled against 2.11 on 2026-11-28.
#ifndef MEDSAM_UNTRIED_APIS
#define MEDSAM_UNTRIED_APIS 1
#endif
#define MEDSAM_TORCH_UNTRIED(major, minor) (MEDSAM_UNTRIED_APIS && MEDSAM_TORCH_AT_LEAST(major, minor))

namespace medsam::compat {

inline std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

// Fused scaled-dot-product attention exists from 2.0 (its `scale` argument from 2.1); 1.13 gets the
// plain composition. q, k: (..., L, E); v: (..., S, Ev); attn_mask: additive float mask broadcastable
// to (..., L, S) or undefined; scale: multiplies q k^T (default 1/sqrt(E)).
inline constexpr bool kHasSdpa = MEDSAM_TORCH_AT_LEAST(2, 0);

inline at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                               const at::Tensor& attn_mask = {}, double scale = 0.0) {
  const double default_scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
#if MEDSAM_TORCH_AT_LEAST(2, 1)
  (void)default_scale;
  return at::scaled_dot_product_attention(
      q, k, v, attn_mask.defined() ? c10::optional<at::Tensor>(attn_mask) : c10::optional<at::Tensor>(),
      /*dropout_p=*/0.0, /*is_causal=*/false, scale > 0 ? c10::optional<double>(scale) : c10::optional<double>());
#elif MEDSAM_TORCH_AT_LEAST(2, 0)
  const at::Tensor qs = scale > 0 ? q * (scale / default_scale) : q;
  return at::scaled_dot_product_attention(qs, k, v, attn_mask.defined() ? c10::optional<at::Tensor>(attn_mask)
                                                                         : c10::optional<at::Tensor>());
#else
  auto logits = at::matmul(q * (scale > 0 ? scale : default_scale), k.transpose(-2, -1));
  if (attn_mask.defined()) logits.add_(attn_mask);
  return at::matmul(at::softmax(logits, -1), v);
#endif
}

// The kernels behind scaled_dot_product_attention, with at::SDPBackend's values (kAuto: LibTorch's order).
enum class SdpaKernel : int { kAuto = -2, kMath = 0, kFlash = 1, kEfficient = 2, kCudnn = 3 };
// Whether prefer_sdpa_kernel can do more than kAuto in this build.
inline constexpr bool kCanPreferSdpaKernel = MEDSAM_TORCH_AT_LEAST(2, 7);

inline std::string sdpa_kernel_name(int64_t backend) {
  switch (backend) {
    case 0: return "math";
    case 1: return "flash";
    case 2: return "efficient";
    case 3: return "cudnn";
    case 4: return "overrideable";
    default: return "unknown(" + std::to_string(backend) + ")";
  }
}

// Puts `kernel` first in SDPA's priority order, for the whole process; the others keep their order
// behind it, so a shape the preferred kernel refuses falls back as before. kAuto restores LibTorch's
// order. torch.nn.attention.sdpa_kernel(..., set_priority=True) in Python; the C++ setter exists from
// 2.7 (added in 2.6's cycle; 2.7 is the first release this guard trusts).
inline void prefer_sdpa_kernel(SdpaKernel kernel) {
#if MEDSAM_TORCH_AT_LEAST(2, 7)
  auto& ctx = at::globalContext();
  static const auto defaults = ctx.sDPPriorityOrder();  // first call: nothing has changed it yet
  const auto wanted = static_cast<int64_t>(kernel);
  std::vector<int64_t> order;
  if (kernel != SdpaKernel::kAuto) order.push_back(wanted);
  for (const auto backend : defaults)
    if (static_cast<int64_t>(backend) != wanted) order.push_back(static_cast<int64_t>(backend));
  ctx.setSDPPriorityOrder(order);
  // A kernel switched off (sdpa_kernel elsewhere, or the cuDNN default of some versions) is switched on.
  if (kernel == SdpaKernel::kFlash) ctx.setSDPUseFlash(true);
  if (kernel == SdpaKernel::kEfficient) ctx.setSDPUseMemEfficient(true);
  if (kernel == SdpaKernel::kMath) ctx.setSDPUseMath(true);
  if (kernel == SdpaKernel::kCudnn) ctx.setSDPUseCuDNN(true);
#else
  if (kernel != SdpaKernel::kAuto)
    throw std::runtime_error("choosing the scaled_dot_product_attention kernel needs LibTorch 2.7 or newer; "
                             "this build has LibTorch " + torch_version());
#endif
}

// The kernel scaled_dot_product_attention picks for these inputs (SDPA's own choice function);
// "composition" where there is no fused SDPA (LibTorch 1.13: matmul, softmax, matmul).
inline std::string sdpa_kernel_for(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                   const at::Tensor& attn_mask) {
#if MEDSAM_TORCH_AT_LEAST(2, 0)
  return sdpa_kernel_name(at::_fused_sdp_choice(
      q, k, v, attn_mask.defined() ? c10::optional<at::Tensor>(attn_mask) : c10::optional<at::Tensor>()));
#else
  (void)q, (void)k, (void)v, (void)attn_mask;
  return "composition";
#endif
}

// In-place multi-tensor lerp (self += weight * (end - self) for each pair): a fused kernel from 2.0
// (what torch.optim's foreach AdamW uses for the first moment); 1.13 has no _foreach_lerp_, so one lerp_
// per tensor (the CPU build, where launches cost nothing).
inline void foreach_lerp_(at::TensorList self, at::TensorList end, double weight) {
#if MEDSAM_TORCH_AT_LEAST(2, 0)
  at::_foreach_lerp_(self, end, weight);
#else
  for (size_t i = 0; i < self.size(); ++i) self[i].lerp_(end[i], weight);
#endif
}

// Autocast on/off and its dtype for one device type. 2.4 replaced the per-device function pairs
// (set_enabled / set_cpu_enabled, set_autocast_gpu_dtype / set_autocast_cpu_dtype) with
// device-type arguments.
inline bool autocast_enabled(c10::DeviceType device) {
#if MEDSAM_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

inline void set_autocast(c10::DeviceType device, bool enabled, at::ScalarType dtype) {
#if MEDSAM_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device, enabled);
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == c10::DeviceType::CUDA) {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

inline at::ScalarType autocast_dtype(c10::DeviceType device) {
#if MEDSAM_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(device);
#else
  return device == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                         : at::autocast::get_autocast_cpu_dtype();
#endif
}

// RAII: autocast for `device` in `dtype` inside a scope, previous state restored after.
// (C++ has no torch.autocast context manager; this is its equivalent.)
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, at::ScalarType dtype, bool enabled = true)
      : device_(device), was_enabled_(autocast_enabled(device)), old_dtype_(autocast_dtype(device)) {
    set_autocast(device_, enabled, dtype);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_autocast(device_, was_enabled_, old_dtype_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool was_enabled_;
  at::ScalarType old_dtype_;
};

}  // namespace medsam::compat

// ---- c10d (only for translation units of medsam/dist, which define MEDSAM_COMPAT_C10D first) ----
#if defined(MEDSAM_COMPAT_C10D)
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#if MEDSAM_TORCH_AT_LEAST(2, 0)
#include <torch/csrc/distributed/c10d/Backend.hpp>
#endif
namespace medsam::compat {
// 2.x split the communication backends (Gloo, NCCL) from the ProcessGroup front end: backends derive
// from c10d::Backend. In 1.13 they derive from c10d::ProcessGroup directly.
#if MEDSAM_TORCH_AT_LEAST(2, 0)
using CommBackend = c10d::Backend;
#else
using CommBackend = c10d::ProcessGroup;
#endif
// Collectives return c10::intrusive_ptr<Work>; the class moved from ProcessGroup::Work to c10d::Work in
// 1.13 (torch/csrc/distributed/c10d/Work.hpp; Debian's 1.13.1 has no ProcessGroup::Work any more).
#if MEDSAM_TORCH_AT_LEAST(1, 13)
using CommWork = c10d::Work;
#else
using CommWork = c10d::ProcessGroup::Work;
#endif
// The variable that makes ProcessGroupNCCL abort a collective that failed or timed out on another rank
// (instead of hanging): NCCL_ASYNC_ERROR_HANDLING until 2.1, TORCH_NCCL_ASYNC_ERROR_HANDLING from 2.2
// (the old name is still read, with a deprecation warning).
#if MEDSAM_TORCH_AT_LEAST(2, 2)
inline constexpr const char* kNcclAsyncErrorHandlingEnv = "TORCH_NCCL_ASYNC_ERROR_HANDLING";
#else
inline constexpr const char* kNcclAsyncErrorHandlingEnv = "NCCL_ASYNC_ERROR_HANDLING";
#endif
}  // namespace medsam::compat
#endif

// ---- profiler (only for translation units that define MEDSAM_COMPAT_PROFILER first) ----
#if defined(MEDSAM_COMPAT_PROFILER)
#include <functional>
#include <set>
#include <stdexcept>
#if MEDSAM_TORCH_AT_LEAST(2, 0)
#include <torch/csrc/autograd/profiler_kineto.h>
#else
#include <torch/csrc/autograd/profiler_legacy.h>
#endif
namespace medsam::compat {
// Runs fn under PyTorch's profiler and writes a Chrome trace to `path`. 2.x: the Kineto profiler (CPU
// ops, and with `cuda` the CUDA kernels, copies and runtime calls; what torch.profiler uses). 1.13:
// Debian's build has no Kineto, so the legacy profiler (CPU ops only).
// ref: torch/profiler/profiler.py _KinetoProfile (prepare_trace, start_trace, stop_trace, export_chrome_trace)
inline void profile_to_chrome_trace(const std::string& path, bool cuda, const std::function<void()>& fn) {
#if MEDSAM_TORCH_AT_LEAST(2, 0)
  namespace impl = torch::profiler::impl;
  namespace api = torch::autograd::profiler;
  std::set<impl::ActivityType> activities{impl::ActivityType::CPU};
  if (cuda) activities.insert(impl::ActivityType::CUDA);
  const impl::ProfilerConfig config(impl::ProfilerState::KINETO, /*report_input_shapes=*/true);
  api::prepareProfiler(config, activities);
  api::enableProfiler(config, activities);
  try {
    fn();
  } catch (...) {
    api::disableProfiler();
    throw;
  }
  api::disableProfiler()->save(path);
#else
  (void)cuda;
  torch::autograd::profiler::RecordProfile record(path);
  fn();
#endif
}
}  // namespace medsam::compat
#endif

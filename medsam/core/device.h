// Devices by name (--device cpu|cuda[:N]|auto), and what benchmarks need to time and size work on them:
// a synchronisation point and the CUDA caching allocator's peak. CUDA specifics stay in device.cpp, so
// this header compiles the same against a CPU or a CUDA LibTorch.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace medsam {

// "cpu", "cuda", "cuda:N", or "auto" (cuda:0 when a CUDA device is visible, else cpu). Throws
// UsageError naming `what` (the flag or config key) for an unknown name or a CUDA device this
// LibTorch or machine does not have.
c10::Device parse_device(const std::string& name, const std::string& what = "--device");

// Waits until the device has finished the work queued so far (CUDA kernels run asynchronously, so a
// timer read without this measures launch time). No-op on the CPU.
void synchronize(const c10::Device& device);

// Peak bytes held by tensors on a CUDA device since the last reset, in MiB (the caching allocator's
// allocated-bytes peak, what torch.cuda.max_memory_allocated reports). -1 on the CPU.
double cuda_peak_allocated_mib(const c10::Device& device);
void reset_cuda_peak(const c10::Device& device);

// Whether this CPU computes bf16 matrix products in hardware (x86 AVX512-BF16 or AMX-BF16, read from
// /proc/cpuinfo; false elsewhere). Without it LibTorch emulates bf16 and CPU bf16 is slower than fp32.
bool cpu_has_native_bf16();

}  // namespace medsam

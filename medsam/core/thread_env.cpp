#include "medsam/core/thread_env.h"

#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>
#endif

namespace medsam {
namespace {

constexpr const char* kMarker = "MEDSAM_THREAD_ENV_APPLIED";

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

}  // namespace

// openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP. Looked up at run time because the
// BLAS behind libblas.so.3 is chosen by Debian's alternatives, not at link time.
bool blas_is_openblas_pthreads() {
#if defined(__linux__)
  using GetParallel = int (*)();
  auto* fn = reinterpret_cast<GetParallel>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  return fn != nullptr && fn() == 1;
#else
  return false;
#endif
}

void tune_malloc_for_tensors() {
#if defined(__linux__) && defined(__GLIBC__)
  const char* keep = std::getenv("MEDSAM_KEEP_MALLOC");
  if (keep != nullptr && std::strcmp(keep, "1") == 0) return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on 64-bit
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

bool thread_env_is_set() { return env_set("OMP_WAIT_POLICY") && env_set("OPENBLAS_THREAD_TIMEOUT"); }

void reexec_with_thread_env(char** argv) {
#if defined(__linux__)
  if (env_set(kMarker) || thread_env_is_set()) return;
  const char* keep = std::getenv("MEDSAM_KEEP_THREAD_ENV");
  if (keep != nullptr && std::strcmp(keep, "1") == 0) return;
  const char* preload = std::getenv("LD_PRELOAD");
  if (preload != nullptr && std::strstr(preload, "vgpreload") != nullptr) return;  // valgrind: /proc/self/exe is the tool
  if (!blas_is_openblas_pthreads()) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  setenv("OPENBLAS_THREAD_TIMEOUT", "4", /*overwrite=*/0);
  setenv(kMarker, "1", 1);
  execv("/proc/self/exe", argv);
  // exec failed (no /proc, say): carry on with the pools as they are.
#else
  (void)argv;
#endif
}

}  // namespace medsam

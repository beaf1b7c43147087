// CPU thread-pool settings that must be in the environment before the process starts.
//
// Debian's LibTorch runs element-wise ops on its OpenMP pool and GEMMs on OpenBLAS's own pthread
// pool. Both pools busy-wait after each call by default (libgomp spins ~300k iterations; OpenBLAS
// spins 2^28 cycles), so on a small machine the idle pool steals the cores the busy one needs: the
// ViT-B encoder takes 12.9 s at 2 threads, against 7.1 s once both pools sleep when idle
// (docs/benchmarks.md). Both libraries read these variables once, when they are loaded, so they
// cannot be changed from main(); the program has to be started again with them set.
#pragma once

namespace medsam {

// When the BLAS in this process is OpenBLAS built on pthreads and OMP_WAIT_POLICY or
// OPENBLAS_THREAD_TIMEOUT is unset: sets OMP_WAIT_POLICY=PASSIVE and OPENBLAS_THREAD_TIMEOUT=4 (the
// values a user already set are kept) and re-executes the program (same PID, same arguments), once.
// Returns normally when nothing is needed, when MEDSAM_KEEP_THREAD_ENV=1 asks to leave the
// environment alone, under valgrind, or when the exec fails. Call it first thing in main().
void reexec_with_thread_env(char** argv);

// glibc malloc settings for tensor workloads, applied at run time (mallopt): freed blocks up to 32 MiB
// stay in the heap instead of going back to the kernel, so the next op's temporaries do not page-
// fault again (on the 2-core VM a fresh 4 MiB buffer costs ~1.5 ms of faults, more than the add that
// fills it; the mask decoder got 25% faster). The heap keeps up to 1 GiB of freed memory. Call once,
// early in main(); MEDSAM_KEEP_MALLOC=1 leaves malloc alone.
void tune_malloc_for_tensors();

// True when the BLAS loaded in this process is OpenBLAS on pthreads (the case the re-exec is for).
bool blas_is_openblas_pthreads();

// True when the two variables hold the values reexec_with_thread_env sets (or values the user chose).
bool thread_env_is_set();

}  // namespace medsam

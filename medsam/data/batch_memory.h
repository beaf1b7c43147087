// Where a batch's big tensors live. A 1024² batch of 8 is 96 MiB of images and 32 MiB of masks: too
// big for malloc's heap (mmap threshold 32 MiB), so each fresh batch would be mmapped and fault in
// page by page — measured ~8 ms of kernel time per sample, a third of the loader's cost. Blocks are
// recycled instead: a tensor's deleter returns its block to a free list of its size, and the next
// batch reuses it already mapped. On CUDA the batch is pinned host memory (from the CUDA caching
// host allocator, which recycles too), so the trainer's host-to-device copies can be asynchronous.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

namespace medsam::data {

// An uninitialised contiguous tensor of `sizes` and `dtype` on the CPU: pinned when `pinned` (needs
// a CUDA build with a GPU; throws Error otherwise), else from the recycling pool.
at::Tensor empty_batch_tensor(at::IntArrayRef sizes, at::ScalarType dtype, bool pinned);

// Pool statistics (tests and benches): blocks handed out fresh, and reused from the free lists.
struct BatchMemoryStats {
  std::int64_t fresh = 0, reused = 0;
};
BatchMemoryStats batch_memory_stats();

}  // namespace medsam::data

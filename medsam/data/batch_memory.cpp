#include "medsam/data/batch_memory.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <sys/mman.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "medsam/core/error.h"

namespace medsam::data {

namespace {

constexpr std::size_t kAlign = std::size_t{2} << 20;  // 2 MiB: lets the kernel back blocks with huge pages
constexpr std::size_t kKeepPerSize = 16;            // free blocks kept per size; more are returned to the OS

class BlockPool {
 public:
  void* take(std::size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& list = free_[bytes];
      if (!list.empty()) {
        void* p = list.back();
        list.pop_back();
        ++stats_.reused;
        return p;
      }
      ++stats_.fresh;
    }
    const std::size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
    void* p = std::aligned_alloc(kAlign, rounded);
    if (p == nullptr) throw Error("data: out of memory for a batch buffer of " + std::to_string(bytes) + " bytes");
#if defined(MADV_HUGEPAGE)
    ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: ignored where transparent huge pages are off
#endif
    return p;
  }

  void give_back(void* p, std::size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& list = free_[bytes];
      if (list.size() < kKeepPerSize) {
        list.push_back(p);
        return;
      }
    }
    std::free(p);
  }

  BatchMemoryStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  std::mutex mu_;
  std::map<std::size_t, std::vector<void*>> free_;
  BatchMemoryStats stats_;
};

// Never destroyed: a batch may outlive static destruction order (a tensor freed at exit).
BlockPool& pool() {
  static auto* p = new BlockPool();
  return *p;
}

}  // namespace

at::Tensor empty_batch_tensor(at::IntArrayRef sizes, at::ScalarType dtype, bool pinned) {
  const auto options = at::TensorOptions().dtype(dtype);
  if (pinned) {
    if (!at::hasCUDA()) throw Error("data: pinned batch memory asked for, but this LibTorch has no usable CUDA");
    return at::empty(sizes, options.pinned_memory(true));
  }
  std::int64_t numel = 1;
  for (const auto s : sizes) numel *= s;
  const auto bytes = static_cast<std::size_t>(numel) * c10::elementSize(dtype);
  if (bytes == 0) return at::empty(sizes, options);
  void* p = pool().take(bytes);
  return at::from_blob(p, sizes, [bytes](void* q) { pool().give_back(q, bytes); }, options);
}

BatchMemoryStats batch_memory_stats() { return pool().stats(); }

}  // namespace medsam::data

#include "medsam/infer/slice_embedding_cache.h"

namespace medsam::infer {

namespace {
int64_t bytes_of(const at::Tensor& t) { return static_cast<int64_t>(t.numel() * t.element_size()); }
}  // namespace

at::Tensor SliceEmbeddingCache::find(int64_t z) {
  const auto it = index_.find(z);
  if (it == index_.end()) {
    ++misses_;
    return {};
  }
  ++hits_;
  entries_.splice(entries_.begin(), entries_, it->second);
  return it->second->second;
}

void SliceEmbeddingCache::erase(std::list<Entry>::iterator it) {
  bytes_ -= bytes_of(it->second);
  index_.erase(it->first);
  entries_.erase(it);
}

void SliceEmbeddingCache::put(int64_t z, const at::Tensor& embedding) {
  if (const auto old = index_.find(z); old != index_.end()) erase(old->second);
  const int64_t size = bytes_of(embedding);
  if (size > capacity_) return;
  // A copy: a row of a batch's embeddings would keep the whole batch's storage alive.
  entries_.emplace_front(z, embedding.clone());
  index_[z] = entries_.begin();
  bytes_ += size;
  while (bytes_ > capacity_) erase(std::prev(entries_.end()));
}

}  // namespace medsam::infer

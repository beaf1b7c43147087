// Embeddings of a volume's slices, kept for reuse within one volume: several 3D boxes of one case
// (organs of one CT) visit overlapping slices, and each used to run the encoder on every slice again
// (as the reference inference does). Bounded in bytes, least recently used out first.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

#include "medsam/infer/lru_by_bytes.h"

namespace medsam::infer {

class SliceEmbeddingCache {
 public:
  // capacity_bytes 0: keeps nothing (every lookup misses).
  explicit SliceEmbeddingCache(int64_t capacity_bytes) : lru_(capacity_bytes) {}

  // The embedding (1, C, h, w) of slice z, or an undefined tensor; a hit makes z the most recent.
  at::Tensor find(int64_t z);
  // Stores a copy of `embedding` for slice z (replacing an older one), then drops the least recently
  // used slices until the total fits the capacity. An embedding larger than the capacity is not kept.
  void put(int64_t z, const at::Tensor& embedding);

  int64_t hits() const { return lru_.hits(); }
  int64_t misses() const { return lru_.misses(); }
  int64_t bytes() const { return lru_.bytes(); }
  size_t size() const { return lru_.size(); }

 private:
  LruByBytes<int64_t, at::Tensor> lru_;
};

}  // namespace medsam::infer

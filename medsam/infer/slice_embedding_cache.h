// Embeddings of a volume's slices, kept for reuse within one volume: several 3D boxes of one case
// (organs of one CT) visit overlapping slices, and each used to run the encoder on every slice again
// (as the reference inference does). Bounded in bytes, least recently used out first.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <list>
#include <unordered_map>
#include <utility>

namespace medsam::infer {

class SliceEmbeddingCache {
 public:
  // capacity_bytes 0: keeps nothing (every lookup misses).
  explicit SliceEmbeddingCache(int64_t capacity_bytes) : capacity_(capacity_bytes) {}

  // The embedding (1, C, h, w) of slice z, or an undefined tensor; a hit makes z the most recent.
  at::Tensor find(int64_t z);
  // Stores a copy of `embedding` for slice z (replacing an older one), then drops the least recently
  // used slices until the total fits the capacity. An embedding larger than the capacity is not kept.
  void put(int64_t z, const at::Tensor& embedding);

  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }
  int64_t bytes() const { return bytes_; }
  size_t size() const { return entries_.size(); }

 private:
  using Entry = std::pair<int64_t, at::Tensor>;  // slice, embedding
  void erase(std::list<Entry>::iterator it);

  int64_t capacity_;
  int64_t bytes_ = 0, hits_ = 0, misses_ = 0;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<int64_t, std::list<Entry>::iterator> index_;
};

}  // namespace medsam::infer

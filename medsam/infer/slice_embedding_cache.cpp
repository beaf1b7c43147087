#include "medsam/infer/slice_embedding_cache.h"

namespace medsam::infer {

at::Tensor SliceEmbeddingCache::find(int64_t z) {
  const at::Tensor* hit = lru_.find(z);
  return hit ? *hit : at::Tensor();
}

void SliceEmbeddingCache::put(int64_t z, const at::Tensor& embedding) {
  const auto bytes = static_cast<int64_t>(embedding.nbytes());
  // A copy: a row of a batch's embeddings would keep the whole batch's storage alive. Oversized
  // embeddings are not copied at all.
  if (bytes > lru_.capacity()) {
    lru_.erase(z);
    return;
  }
  lru_.put(z, embedding.clone(), bytes);
}

}  // namespace medsam::infer

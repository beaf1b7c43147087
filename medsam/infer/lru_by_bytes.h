// A least-recently-used map bounded by bytes: the slice-embedding cache of 3D inference and the image
// store of `medsam serve` keep embeddings (4 MiB each for ViT-B) under a memory budget with it.
// Not thread-safe: callers that share one lock it.
#pragma once

#include <cstdint>
#include <iterator>
#include <list>
#include <unordered_map>
#include <utility>

namespace medsam::infer {

template <class Key, class Value>
class LruByBytes {
 public:
  // capacity_bytes 0: keeps nothing (every lookup misses).
  explicit LruByBytes(int64_t capacity_bytes) : capacity_(capacity_bytes) {}

  // The value, or nullptr; a hit makes the key the most recent. The pointer stays valid until the next
  // put or erase.
  const Value* find(const Key& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) {
      ++misses_;
      return nullptr;
    }
    ++hits_;
    entries_.splice(entries_.begin(), entries_, it->second);
    return &it->second->value;
  }

  // Stores `value` (replacing an older one under the key), then drops the least recently used entries
  // until the total fits the capacity. A value larger than the capacity is not kept: returns false.
  bool put(const Key& key, Value value, int64_t bytes) {
    erase(key);
    if (bytes > capacity_) return false;
    entries_.push_front(Entry{key, std::move(value), bytes});
    index_[key] = entries_.begin();
    bytes_ += bytes;
    while (bytes_ > capacity_) {
      erase_entry(std::prev(entries_.end()));
      ++evictions_;
    }
    return true;
  }

  bool erase(const Key& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return false;
    erase_entry(it->second);
    return true;
  }

  int64_t capacity() const { return capacity_; }
  int64_t bytes() const { return bytes_; }
  size_t size() const { return entries_.size(); }
  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }
  int64_t evictions() const { return evictions_; }

 private:
  struct Entry {
    Key key;
    Value value;
    int64_t bytes;
  };
  using Iterator = typename std::list<Entry>::iterator;

  void erase_entry(Iterator it) {
    bytes_ -= it->bytes;
    index_.erase(it->key);
    entries_.erase(it);
  }

  int64_t capacity_;
  int64_t bytes_ = 0, hits_ = 0, misses_ = 0, evictions_ = 0;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<Key, Iterator> index_;
};

}  // namespace medsam::infer

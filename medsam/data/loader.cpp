#include "medsam/data/loader.h"

#include <algorithm>

#include "medsam/core/error.h"

namespace medsam::data {

Loader::Loader(const TrainingDataset& dataset, const DistributedSampler& sampler, const DataConfig& config)
    : sampler_(sampler),
      builder_(dataset, config),
      workers_(std::max(0, config.num_workers)),
      prefetch_(std::max(1, config.prefetch)),
      batch_size_(std::max(1, config.batch_size)),
      drop_last_(config.drop_last) {}

Loader::~Loader() { stop(); }

void Loader::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  ready_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  ready_.clear();
  stopping_ = false;
}

std::int64_t Loader::batches_per_epoch() const {
  const auto n = sampler_.num_samples();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

void Loader::start(const SamplerPosition& from) {
  stop();
  sampler_.check(from);
  indices_ = sampler_.rank_indices(from.epoch);
  epoch_ = from.epoch;
  first_ = from.index;
  position_ = from;
  const auto n = static_cast<std::int64_t>(indices_.size()) - first_;
  num_batches_ = drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
  consumed_ = 0;
  next_to_build_ = 0;
  for (int k = 0; k < workers_; ++k) threads_.emplace_back([this] { worker(); });
}

std::vector<SampleRef> Loader::refs_of(std::int64_t b) const {
  std::vector<SampleRef> refs;
  const auto lo = first_ + b * batch_size_;
  const auto hi = std::min<std::int64_t>(lo + batch_size_, static_cast<std::int64_t>(indices_.size()));
  for (auto j = lo; j < hi; ++j) refs.push_back({indices_[static_cast<std::size_t>(j)], sampler_.global_position(j)});
  return refs;
}

void Loader::worker() {
  for (;;) {
    std::int64_t b;
    std::vector<SampleRef> refs;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] {
        return stopping_ || (next_to_build_ < num_batches_ && next_to_build_ < consumed_ + prefetch_);
      });
      if (stopping_) return;
      b = next_to_build_++;
      refs = refs_of(b);
    }
    Slot slot;
    slot.samples = static_cast<std::int64_t>(refs.size());
    std::int64_t skipped = 0;
    try {
      slot.batch = builder_.build(refs, epoch_, &skipped);
    } catch (...) {
      slot.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      skipped_ += skipped;
      ready_[b] = std::move(slot);
    }
    ready_cv_.notify_all();
  }
}

std::optional<Batch> Loader::next() {
  for (;;) {
    if (consumed_ >= num_batches_) return std::nullopt;
    Slot slot;
    if (workers_ == 0) {  // synchronous: build on the calling thread
      const auto refs = refs_of(consumed_);
      slot.samples = static_cast<std::int64_t>(refs.size());
      try {
        std::int64_t skipped = 0;
        slot.batch = builder_.build(refs, epoch_, &skipped);
        skipped_ += skipped;
      } catch (...) {
        slot.error = std::current_exception();
      }
      ++consumed_;
    } else {
      std::unique_lock<std::mutex> lock(mu_);
      ready_cv_.wait(lock, [&] { return ready_.count(consumed_) > 0; });
      slot = std::move(ready_[consumed_]);
      ready_.erase(consumed_);
      ++consumed_;
    }
    work_cv_.notify_all();
    if (slot.error) {  // the position stays before the failed batch
      stop();
      num_batches_ = consumed_;
      std::rethrow_exception(slot.error);
    }
    position_.index += slot.samples;
    if (slot.batch && slot.batch->num_images() > 0) return std::move(slot.batch);
    // every sample of this batch was skipped as corrupt: go on with the next
  }
}

std::int64_t Loader::skipped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return skipped_;
}

}  // namespace medsam::data

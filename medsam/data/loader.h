// Batches ahead of the trainer: N worker threads decode and assemble whole batches into a bounded
// window of `prefetch` batches; next() hands them out in order. The output is the same for any
// number of workers (each batch is a pure function of its samples and their epoch positions).
//
//   Loader loader(dataset, sampler, config);
//   loader.start(checkpoint ? saved_position : sampler.start_of(epoch));
//   while (auto batch = loader.next()) { step(*batch); save_later(loader.position()); }
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "medsam/data/batch.h"
#include "medsam/data/batch_builder.h"
#include "medsam/core/config_data.h"
#include "medsam/data/distributed_sampler.h"

namespace medsam::data {

class TrainingDataset;

class Loader {
 public:
  // Keeps references to `dataset` and `sampler`; copies the config (batch_size, num_workers, prefetch,
  // drop_last, skip_corrupt, prompts, augment, seed).
  Loader(const TrainingDataset& dataset, const DistributedSampler& sampler, const DataConfig& config);
  ~Loader();  // stops and joins the workers
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Begins (or resumes) an epoch at `from` (a position from sampler.start_of or a checkpoint; checked
  // against the sampler). Stops any epoch in progress.
  void start(const SamplerPosition& from);
  // The next batch of this rank, or nullopt at the end of the epoch. A worker's failure is rethrown
  // here, in order, as Error naming the sample key; the loader is then stopped.
  std::optional<Batch> next();
  // Where this rank stands after the batches next() has returned: store it in the checkpoint.
  SamplerPosition position() const { return position_; }
  // Batches of the current epoch still to come (equal on every rank).
  std::int64_t batches_left() const { return num_batches_ - consumed_; }
  // Batches per epoch (from the start of an epoch; equal on every rank).
  std::int64_t batches_per_epoch() const;
  std::int64_t skipped() const;  // samples skipped as corrupt since construction (skip_corrupt)
  void stop();

 private:
  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
    std::int64_t samples = 0;  // sampler positions this batch covers
  };
  std::vector<SampleRef> refs_of(std::int64_t b) const;
  void worker();

  const DistributedSampler& sampler_;
  BatchBuilder builder_;
  int workers_, prefetch_, batch_size_;
  bool drop_last_;

  // Epoch state (set by start, read by workers under mu_).
  std::vector<std::int64_t> indices_;  // this rank's epoch list
  std::int64_t first_ = 0;             // rank-local index of the first sample of batch 0
  std::int64_t num_batches_ = 0, consumed_ = 0, next_to_build_ = 0;
  std::int64_t epoch_ = 0;
  SamplerPosition position_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  std::map<std::int64_t, Slot> ready_;
  bool stopping_ = false;
  std::int64_t skipped_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace medsam::data

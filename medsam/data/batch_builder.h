// Turns a list of sampled dataset items into one Batch: decode, augment, choose target objects,
// cut masks and prompts, stack. Pure function of (items, positions, seed, epoch): the loader may run
// it on any thread in any order and get the same batch.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "medsam/data/batch.h"
#include "medsam/core/config_data.h"
#include "medsam/data/prompt_sampler.h"

namespace medsam::data {

class TrainingDataset;

struct SampleRef {
  std::int64_t item = 0;      // dataset item
  std::int64_t position = 0;  // global position in the epoch (seeds the sample's randomness)
};

class BatchBuilder {
 public:
  // `config` must outlive the builder's use only through the copy it keeps.
  BatchBuilder(const TrainingDataset& dataset, const DataConfig& config);

  // A sample that fails (corrupt PNG, size mismatch, ...) throws Error naming its key, or with
  // config.skip_corrupt is logged, left out of the batch and counted in `skipped`. A valid sample whose
  // every object the resize to image_size removes (narrower than stored size / image_size pixels) is
  // always left out and counted, with a warning the first time. The batch may then be smaller than refs
  // (or empty: num_images() == 0).
  Batch build(const std::vector<SampleRef>& refs, std::int64_t epoch, std::int64_t* skipped = nullptr) const;

 private:
  struct Part;
  void add_sample(const SampleRef& ref, std::int64_t epoch, std::int64_t image_slot, Part& part) const;

  const TrainingDataset& dataset_;
  DataConfig config_;
  PromptSampler prompts_;
  mutable std::mutex warned_mu_;
  mutable std::unordered_set<std::int64_t> warned_lost_;  // items whose lost objects were reported
};

}  // namespace medsam::data

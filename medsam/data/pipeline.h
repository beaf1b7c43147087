// The trainer's entry point: from a DataConfig and this process's rank, the dataset, the rank's
// sampler (with balance weights) and the loader, wired together.
//
//   data::DataPipeline data(cfg.data, rank, world_size);
//   data.loader().start(resumed ? saved_position : data.sampler().start_of(epoch));
//   while (auto batch = data.loader().next()) { ... checkpoint.data_position = data.loader().position(); }
#pragma once

#include <memory>

#include "medsam/core/config_data.h"
#include "medsam/data/dataset.h"
#include "medsam/data/distributed_sampler.h"
#include "medsam/data/loader.h"

namespace medsam::data {

// SamplerOptions implied by `config` for `rank` of `world_size` (weights from config.balance).
SamplerOptions sampler_options(const DataConfig& config, const TrainingDataset& dataset, int rank, int world_size);

class DataPipeline {
 public:
  // Validates `config`, opens config.shards / config.split. Throws ConfigError or Error.
  DataPipeline(const DataConfig& config, int rank = 0, int world_size = 1);
  ~DataPipeline();

  const TrainingDataset& dataset() const { return *dataset_; }
  const DistributedSampler& sampler() const { return *sampler_; }
  Loader& loader() { return *loader_; }

 private:
  std::unique_ptr<TrainingDataset> dataset_;
  std::unique_ptr<DistributedSampler> sampler_;
  std::unique_ptr<Loader> loader_;
};

}  // namespace medsam::data

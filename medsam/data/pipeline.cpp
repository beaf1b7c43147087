#include "medsam/data/pipeline.h"

#include <fmt/format.h>

#include <string>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/data/balance.h"
#include "medsam/data/dataset.h"

namespace medsam::data {

SamplerOptions sampler_options(const DataConfig& config, const TrainingDataset& dataset, int rank, int world_size) {
  SamplerOptions o;
  o.rank = rank;
  o.world_size = world_size;
  o.seed = static_cast<std::uint64_t>(config.seed);
  o.shuffle = config.shuffle;
  o.pad = config.uneven == "pad";
  o.weights = group_weights(dataset, config.balance);
  o.epoch_samples = o.weights.empty() ? 0 : config.balance.epoch_samples;
  return o;
}

DataPipeline::DataPipeline(const DataConfig& config, int rank, int world_size) {
  config.validate();
  dataset_ = std::make_unique<TrainingDataset>(config.shards, config.split, config.min_object_pixels);
  // A folder `medsam prep` is still writing (or that an interrupted prep left): training would see only the
  // shards committed so far, and a resume after the prep finished would meet another dataset.
  if (!dataset_->manifest().complete) {
    const std::string what = fmt::format("data.shards {}: its manifest says medsam prep has not finished "
                                         "(complete: false, {} shards so far)", config.shards,
                                         dataset_->manifest().shards.size());
    if (!config.allow_incomplete)
      throw ConfigError(what + "; finish the prep (rerun it: it resumes), or set data.allow_incomplete: true to "
                               "train on what is there");
    log_warn("{}: training on those (data.allow_incomplete)", what);
  }
  sampler_ = std::make_unique<DistributedSampler>(static_cast<std::int64_t>(dataset_->size()),
                                                  sampler_options(config, *dataset_, rank, world_size));
  loader_ = std::make_unique<Loader>(*dataset_, *sampler_, config);
  if (loader_->batches_per_epoch() == 0)
    throw ConfigValueError({"data.batch_size", "data.drop_last"},
                           fmt::format("data.shards {}: split '{}' gives each rank {} samples per epoch ({} usable "
                                       "samples, {} rank(s)), fewer than data.batch_size {}, and data.drop_last drops "
                                       "the partial batch: an epoch would have no batch. Lower data.batch_size or set "
                                       "data.drop_last: false",
                                       config.shards, config.split, sampler_->num_samples(), dataset_->size(),
                                       world_size, config.batch_size));
}

DataPipeline::~DataPipeline() = default;

}  // namespace medsam::data

// The shard loader (medsam/data/loader.h) as the trainer's BatchSource: epochs start at the sampler's
// start of the epoch, state() is the loader's SamplerPosition as text, restore() restarts the loader
// there (the sampler checks seed and world size; the saved rank is replaced by this rank, since rank 0's
// checkpoint serves every rank).
#pragma once

#include "medsam/train/batch_source.h"

namespace medsam::data {
class Loader;
class DistributedSampler;
}  // namespace medsam::data

namespace medsam::train {

class LoaderSource final : public BatchSource {
 public:
  // Keeps references; both must outlive this source.
  LoaderSource(data::Loader& loader, const data::DistributedSampler& sampler);
  void begin_epoch(int64_t epoch) override;
  std::optional<data::Batch> next() override;
  std::string state() const override;  // "epoch index seed world_size rank samples"
  void restore(const std::string& state) override;

 private:
  data::Loader& loader_;
  const data::DistributedSampler& sampler_;
};

}  // namespace medsam::train

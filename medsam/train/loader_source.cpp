#include "medsam/train/loader_source.h"

#include <fmt/format.h>

#include <sstream>

#include "medsam/core/error.h"
#include "medsam/data/distributed_sampler.h"
#include "medsam/data/loader.h"

namespace medsam::train {

LoaderSource::LoaderSource(data::Loader& loader, const data::DistributedSampler& sampler)
    : loader_(loader), sampler_(sampler) {}

void LoaderSource::begin_epoch(int64_t epoch) { loader_.start(sampler_.start_of(epoch)); }

std::optional<data::Batch> LoaderSource::next() { return loader_.next(); }

std::string LoaderSource::state() const {
  const data::SamplerPosition p = loader_.position();
  return fmt::format("{} {} {} {} {}", p.epoch, p.index, p.seed, p.world_size, p.rank);
}

void LoaderSource::restore(const std::string& state) {
  data::SamplerPosition p;
  std::istringstream in(state);
  if (!(in >> p.epoch >> p.index >> p.seed >> p.world_size >> p.rank))
    throw Error("checkpoint: data position '" + state + "' is not 'epoch index seed world_size rank'");
  // Rank 0 writes the checkpoint for all ranks; they stand at the same rank-local index (equal shares),
  // so each takes rank 0's position as its own. Seed and world size are still checked.
  p.rank = sampler_.options().rank;
  loader_.start(p);
}

}  // namespace medsam::train

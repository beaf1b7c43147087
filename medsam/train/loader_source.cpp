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
  const auto& o = sampler_.options();
  return fmt::format("{} {} {} {} {} {} {} {}", p.epoch, p.index, p.seed, p.world_size, p.rank, sampler_.dataset_size(),
                     o.shuffle ? 1 : 0, o.pad ? "pad" : "drop");
}

void LoaderSource::restore(const std::string& state) {
  data::SamplerPosition p;
  std::istringstream in(state);
  if (!(in >> p.epoch >> p.index >> p.seed >> p.world_size >> p.rank))
    throw Error("checkpoint: data position '" + state +
                "' is not 'epoch index seed world_size rank [samples [shuffle uneven]]'");
  // The dataset's size when the checkpoint was written (absent before 2026-12-07): the same position in
  // an epoch over another set of samples would repeat some and skip others.
  std::int64_t saved_size = 0;
  if (in >> saved_size && saved_size != sampler_.dataset_size())
    throw Error(fmt::format(
        "checkpoint: the run was training on {} samples, data.shards now holds {} (the dataset changed: a prep "
        "finished or was redone, or another folder); an exact resume would repeat or skip samples. Start a new "
        "run from its weights instead: --set train.init_checkpoint=<the checkpoint>",
        saved_size, sampler_.dataset_size()));
  // The order's settings (absent before 2026-12-08): another shuffle or uneven rule gives another epoch
  // order, so the saved index would point into a different sequence.
  int saved_shuffle = -1;
  std::string saved_uneven;
  if (in >> saved_shuffle >> saved_uneven) {
    const auto& o = sampler_.options();
    if (saved_shuffle != (o.shuffle ? 1 : 0))
      throw Error(fmt::format("checkpoint: the run was training with data.shuffle {}, the config now says {}; an exact "
                              "resume needs the same order (set it back, or start a new run from its weights: --set "
                              "train.init_checkpoint=<the checkpoint>)",
                              saved_shuffle ? "true" : "false", o.shuffle ? "true" : "false"));
    if (saved_uneven != (o.pad ? "pad" : "drop"))
      throw Error(fmt::format("checkpoint: the run was training with data.uneven {}, the config now says {}; an exact "
                              "resume needs the same order (set it back, or start a new run from its weights: --set "
                              "train.init_checkpoint=<the checkpoint>)",
                              saved_uneven, o.pad ? "pad" : "drop"));
  }
  // Rank 0 writes the checkpoint for all ranks; they stand at the same rank-local index (equal shares),
  // so each takes rank 0's position as its own. Seed and world size are still checked.
  p.rank = sampler_.options().rank;
  loader_.start(p);
}

}  // namespace medsam::train

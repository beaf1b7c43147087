// Which samples each rank sees in each epoch, and where it stands (for exact mid-epoch resume).
// ref: torch/utils/data/distributed.py DistributedSampler (permutation seeded by seed + epoch, pad by
// repeating from the start or drop the tail, rank r takes indices[r::world])
#pragma once

#include <cstdint>
#include <vector>

namespace medsam::data {

// The trainer stores this in its checkpoint and passes it back to Loader::start on resume.
struct SamplerPosition {
  std::int64_t epoch = 0;
  std::int64_t index = 0;      // samples of this rank's epoch list already handed to the trainer
  std::uint64_t seed = 0;      // checked on restore: another seed or world size is another order
  std::int32_t world_size = 1;
  std::int32_t rank = 0;
};

struct SamplerOptions {
  std::int32_t rank = 0;
  std::int32_t world_size = 1;
  std::uint64_t seed = 0;
  bool shuffle = true;
  bool pad = true;                  // uneven epochs: pad by repeating (true) or drop the tail (false)
  std::int64_t epoch_samples = 0;   // weighted epochs: draws per epoch (0: dataset size)
  std::vector<double> weights;      // per dataset item; empty: every item once per epoch
};

class DistributedSampler {
 public:
  // Throws Error for rank/world out of range, an empty dataset, or weights of the wrong size.
  DistributedSampler(std::int64_t dataset_size, SamplerOptions options);

  // The whole epoch in order (all ranks; before padding/dropping): a permutation of 0..n-1, or with
  // weights `epoch_samples` draws with replacement. A deterministic function of (seed, epoch).
  std::vector<std::int64_t> epoch_order(std::int64_t epoch) const;
  // This rank's samples: epoch_order padded (or cut) to a multiple of world, then [rank::world].
  std::vector<std::int64_t> rank_indices(std::int64_t epoch) const;
  // Position of rank-local sample j in the (padded) epoch: j * world + rank (seeds its randomness).
  std::int64_t global_position(std::int64_t j) const { return j * options_.world_size + options_.rank; }
  // Samples per rank per epoch: equal on every rank.
  std::int64_t num_samples() const;
  const SamplerOptions& options() const { return options_; }
  std::int64_t dataset_size() const { return size_; }

  SamplerPosition start_of(std::int64_t epoch) const;
  // Throws Error when `p` was saved under another seed, world size or rank, or lies past the epoch.
  void check(const SamplerPosition& p) const;

 private:
  std::int64_t size_;
  SamplerOptions options_;
  std::vector<double> cumulative_;  // prefix sums of weights
};

}  // namespace medsam::data

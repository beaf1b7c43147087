#include "medsam/data/distributed_sampler.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "medsam/core/error.h"
#include "medsam/data/sample_rng.h"

namespace medsam::data {

namespace {
constexpr std::uint64_t kOrderStream = 0x6F72646572ULL;  // "order": separates this stream from samples'
}

DistributedSampler::DistributedSampler(std::int64_t dataset_size, SamplerOptions options)
    : size_(dataset_size), options_(std::move(options)) {
  if (size_ <= 0) throw Error("sampler: empty dataset");
  if (options_.world_size < 1 || options_.rank < 0 || options_.rank >= options_.world_size) {
    throw Error(fmt::format("sampler: rank {} is not in [0, world size {})", options_.rank, options_.world_size));
  }
  if (!options_.weights.empty()) {
    if (static_cast<std::int64_t>(options_.weights.size()) != size_) {
      throw Error(fmt::format("sampler: {} weights for {} samples", options_.weights.size(), size_));
    }
    cumulative_.resize(options_.weights.size());
    std::partial_sum(options_.weights.begin(), options_.weights.end(), cumulative_.begin());
    if (!(cumulative_.back() > 0)) throw Error("sampler: all weights are 0");
  }
  if (options_.pad == false && size_ < options_.world_size && cumulative_.empty()) {
    throw Error(fmt::format("sampler: {} samples cannot be split over {} ranks without padding", size_,
                            options_.world_size));
  }
}

std::vector<std::int64_t> DistributedSampler::epoch_order(std::int64_t epoch) const {
  SampleRng rng{kOrderStream, options_.seed, static_cast<std::uint64_t>(epoch)};
  if (!cumulative_.empty()) {
    // ref: torch/utils/data/sampler.py WeightedRandomSampler (multinomial with replacement)
    const auto n = options_.epoch_samples > 0 ? options_.epoch_samples : size_;
    std::vector<std::int64_t> out(static_cast<std::size_t>(n));
    const double total = cumulative_.back();
    for (auto& v : out) {
      const double u = rng.uniform() * total;
      const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
      v = std::min<std::int64_t>(it - cumulative_.begin(), size_ - 1);
    }
    return out;
  }
  std::vector<std::int64_t> out(static_cast<std::size_t>(size_));
  std::iota(out.begin(), out.end(), 0);
  if (options_.shuffle) {
    for (std::int64_t i = size_ - 1; i > 0; --i) {  // Fisher-Yates with the portable generator
      std::swap(out[i], out[static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(i + 1)))]);
    }
  }
  return out;
}

std::int64_t DistributedSampler::num_samples() const {
  const std::int64_t n = options_.epoch_samples > 0 && !cumulative_.empty() ? options_.epoch_samples : size_;
  const std::int64_t w = options_.world_size;
  return options_.pad ? (n + w - 1) / w : n / w;
}

std::vector<std::int64_t> DistributedSampler::rank_indices(std::int64_t epoch) const {
  auto order = epoch_order(epoch);
  const std::int64_t w = options_.world_size;
  const std::int64_t total = num_samples() * w;
  const auto n = static_cast<std::int64_t>(order.size());
  if (total > n) {  // pad by repeating from the start (repeatedly if the epoch is shorter than world)
    order.reserve(static_cast<std::size_t>(total));
    for (std::int64_t i = n; i < total; ++i) order.push_back(order[static_cast<std::size_t>((i - n) % n)]);
  }
  std::vector<std::int64_t> mine;
  mine.reserve(static_cast<std::size_t>(num_samples()));
  for (std::int64_t i = options_.rank; i < total; i += w) mine.push_back(order[static_cast<std::size_t>(i)]);
  return mine;
}

SamplerPosition DistributedSampler::start_of(std::int64_t epoch) const {
  SamplerPosition p;
  p.epoch = epoch;
  p.seed = options_.seed;
  p.world_size = options_.world_size;
  p.rank = options_.rank;
  return p;
}

void DistributedSampler::check(const SamplerPosition& p) const {
  if (p.seed != options_.seed || p.world_size != options_.world_size || p.rank != options_.rank) {
    throw Error(fmt::format(
        "sampler: saved position (seed {}, world size {}, rank {}) does not match this run (seed {}, world size {}, "
        "rank {}); resuming would replay another order",
        p.seed, p.world_size, p.rank, options_.seed, options_.world_size, options_.rank));
  }
  if (p.epoch < 0 || p.index < 0 || p.index > num_samples()) {
    throw Error(fmt::format("sampler: saved position epoch {} index {} is outside an epoch of {} samples", p.epoch,
                            p.index, num_samples()));
  }
}

}  // namespace medsam::data

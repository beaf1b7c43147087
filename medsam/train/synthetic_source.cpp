#include "medsam/train/synthetic_source.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <sstream>

#include "medsam/core/error.h"

namespace medsam::train {

SyntheticSource::SyntheticSource(SyntheticSourceOptions options) : options_(options) {
  if (options_.image_size < 16 || options_.batch_size < 1 || options_.batches_per_epoch < 1 ||
      options_.prompts_per_image < 1 || options_.world_size < 1 || options_.rank < 0 ||
      options_.rank >= options_.world_size)
    throw ConfigError("synthetic source: image_size >= 16, batch_size, batches_per_epoch, prompts_per_image >= 1, "
                      "0 <= rank < world_size");
}

void SyntheticSource::begin_epoch(int64_t epoch) {
  epoch_ = epoch;
  index_ = 0;
}

std::optional<data::Batch> SyntheticSource::next() {
  if (index_ >= options_.batches_per_epoch) return std::nullopt;
  // A private generator: the batch depends only on (seed, epoch, index), never on the global RNG.
  const int64_t global_index = index_ * options_.world_size + options_.rank;
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(options_.seed) * 1000003u +
                                            static_cast<uint64_t>(epoch_) * 7919u + static_cast<uint64_t>(global_index));
  ++index_;
  const int64_t s = options_.image_size, bi = options_.batch_size, bp = bi * options_.prompts_per_image;
  data::Batch b;
  b.images = torch::rand({bi, 3, s, s}, gen) * 0.5;
  b.image_index = torch::arange(bi, torch::kInt64).repeat_interleave(options_.prompts_per_image);
  b.boxes = torch::zeros({bp, 4});
  b.masks = torch::zeros({bp, 1, s, s});
  auto corners = torch::rand({bp, 4}, gen);
  for (int64_t i = 0; i < bp; ++i) {
    const auto c = corners[i];
    const int64_t w = s / 8 + static_cast<int64_t>(c[0].item<float>() * static_cast<float>(s / 2));
    const int64_t h = s / 8 + static_cast<int64_t>(c[1].item<float>() * static_cast<float>(s / 2));
    const int64_t x0 = static_cast<int64_t>(c[2].item<float>() * static_cast<float>(s - w));
    const int64_t y0 = static_cast<int64_t>(c[3].item<float>() * static_cast<float>(s - h));
    b.masks[i][0].slice(0, y0, y0 + h).slice(1, x0, x0 + w).fill_(1.0);
    // The object is brighter than the background in its own image, so the task is learnable.
    const int64_t img = b.image_index[i].item<int64_t>();
    b.images[img].slice(1, y0, y0 + h).slice(2, x0, x0 + w).add_(0.5);
    b.boxes[i] = torch::tensor({static_cast<float>(x0), static_cast<float>(y0), static_cast<float>(x0 + w),
                                static_cast<float>(y0 + h)});
    b.sources.push_back({fmt::format("synthetic_{}_{}_{}", epoch_, index_ - 1, i), "synthetic", 0, 1});
  }
  return b;
}

std::string SyntheticSource::state() const { return fmt::format("{} {}", epoch_, index_); }

void SyntheticSource::restore(const std::string& state) {
  std::istringstream in(state);
  if (!(in >> epoch_ >> index_)) throw Error("synthetic source: bad saved state '" + state + "'");
}

}  // namespace medsam::train

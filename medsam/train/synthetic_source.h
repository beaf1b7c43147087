// A BatchSource of random images with one rectangular object each and its (slightly jittered) box:
// deterministic in (seed, epoch, index), so tests of resume and of the loop need no data files.
#pragma once

#include <cstdint>

#include "medsam/train/batch_source.h"

namespace medsam::train {

struct SyntheticSourceOptions {
  int64_t image_size = 256;
  int64_t batch_size = 2;
  int64_t batches_per_epoch = 100;
  int64_t seed = 0;
  // Bp = batch_size * prompts_per_image prompts over batch_size images (tests the image_index path).
  int64_t prompts_per_image = 1;
  // Several processes: rank r draws the global batches r, r + world, r + 2 world, ... of each epoch
  // (batches_per_epoch is per rank), so ranks train on different data.
  int64_t rank = 0;
  int64_t world_size = 1;
};

class SyntheticSource final : public BatchSource {
 public:
  explicit SyntheticSource(SyntheticSourceOptions options);
  void begin_epoch(int64_t epoch) override;
  std::optional<data::Batch> next() override;
  std::string state() const override;  // "epoch index"
  void restore(const std::string& state) override;

 private:
  SyntheticSourceOptions options_;
  int64_t epoch_ = 0;
  int64_t index_ = 0;
};

}  // namespace medsam::train

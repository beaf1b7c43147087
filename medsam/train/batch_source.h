// Where the trainer's batches come from: the data loader (medsam/data) in real runs, a synthetic
// source in tests and benches. The trainer knows only this interface.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "medsam/data/batch.h"

namespace medsam::train {

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // Starts (or restarts) epoch `epoch` (0-based): the order of its batches may depend on the epoch.
  virtual void begin_epoch(int64_t epoch) = 0;
  // The next batch of the current epoch, std::nullopt when the epoch is exhausted.
  virtual std::optional<data::Batch> next() = 0;
  // Opaque position (epoch, batches consumed, shuffling state, ...) stored in checkpoints; restore()
  // continues exactly after the last batch next() returned before state() was taken.
  virtual std::string state() const = 0;
  virtual void restore(const std::string& state) = 0;
};

}  // namespace medsam::train

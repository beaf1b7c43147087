// Where a training run stands: everything beyond model and optimizer that resume needs to continue
// exactly (stored as "trainer_state" in checkpoints).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>

namespace medsam::train {

struct TrainState {
  int64_t step = 0;                   // optimizer steps taken (skipped non-finite steps included)
  int64_t epoch = 0;                  // current epoch of the batch source (0-based)
  int64_t samples = 0;                // prompts trained on, summed over steps
  int64_t skipped_steps = 0;          // non-finite steps skipped so far
  int64_t consecutive_nonfinite = 0;  // non-finite steps in a row right now
  std::string source_state;           // BatchSource::state() after the last batch of `step`
  at::Tensor rng_state;               // the default CPU generator's state (uint8), undefined = not saved
  double best_val_dice = -1;          // best validation mean DSC so far, -1 = none yet
  int64_t best_step = 0;              // the step best.pth was written at (0 = none)
};

}  // namespace medsam::train

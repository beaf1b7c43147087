// `medsam train` as one library call: the batch source the config names, the model (init weights),
// the trainer, resume, run. tools/train.cpp only parses arguments.
#pragma once

#include <cstdint>

#include "medsam/core/config.h"

namespace medsam::dist {
class ProcessGroup;
}

namespace medsam::train {

// A collective on every rank after resume: throws Error on all of them when their steps differ (each rank
// reads the resume checkpoint from train.output_dir itself; a folder not shared between nodes would
// otherwise let them train from different states without a word).
void check_ranks_start_together(dist::ProcessGroup& group, int64_t step);

// Returns the process exit code: 0 when training completed, kExitStopped (75) when a signal stopped it
// after its checkpoint was written.
// Throws ConfigError for bad settings, Error for runtime failures (unwritable output dir, non-finite training).
int run_training(Config& config);

}  // namespace medsam::train

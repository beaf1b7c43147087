// `medsam train` as one library call: the batch source the config names, the model (init weights),
// the trainer, resume, run. tools/train.cpp only parses arguments.
#pragma once

#include "medsam/core/config.h"

namespace medsam::train {

// Returns the process exit code: 0 when training completed or stopped on a signal (checkpoint written).
// Throws ConfigError for bad settings, NotImplementedError while the shard loader has not landed
// (train.source: shards), Error for runtime failures (unwritable output dir, non-finite training).
int run_training(Config& config);

}  // namespace medsam::train

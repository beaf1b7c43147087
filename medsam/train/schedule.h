// Learning rate per optimizer step: constant (MedSAM) or cosine decay, both with an optional linear warmup.
#pragma once

#include <cstdint>

#include "medsam/core/config_train.h"

namespace medsam::train {

// step counts from 0 (the first optimizer step). Warmup: base_lr * (step + 1) / warmup_steps for
// step < warmup_steps. Cosine after warmup: min + (base - min) * (1 + cos(pi * t)) / 2 with
// t = (step - warmup) / (total - warmup) clamped to [0, 1], min = base_lr * min_lr_ratio.
// total_steps <= 0 in the config: `default_total_steps` is used. Throws ConfigError for an unknown name
// or a cosine schedule without a length.
double learning_rate(const ScheduleConfig& config, double base_lr, int64_t step, int64_t default_total_steps);

}  // namespace medsam::train

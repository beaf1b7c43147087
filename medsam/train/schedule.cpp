#include "medsam/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "medsam/core/error.h"

namespace medsam::train {

double learning_rate(const ScheduleConfig& config, double base_lr, int64_t step, int64_t default_total_steps) {
  const int64_t warmup = std::max<int64_t>(0, config.warmup_steps);
  if (config.name != "constant" && config.name != "cosine")
    throw ConfigError("train.schedule.name must be constant or cosine, got '" + config.name + "'");
  if (step < warmup) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (config.name == "constant") return base_lr;
  const int64_t total = config.total_steps > 0 ? config.total_steps : default_total_steps;
  if (total <= 0)
    throw ConfigError("train.schedule: cosine needs train.schedule.total_steps or train.max_steps > 0");
  const double span = static_cast<double>(std::max<int64_t>(1, total - warmup));
  const double t = std::clamp(static_cast<double>(step - warmup) / span, 0.0, 1.0);
  const double min_lr = base_lr * config.min_lr_ratio;
  return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * t));
}

}  // namespace medsam::train

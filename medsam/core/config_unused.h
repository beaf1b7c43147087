// Settings that another setting switches off (data.augment.* while data.augment.enabled is false, the
// cosine schedule's keys under a constant schedule, ...). A user who sets one expects it to act; the
// training log says it does not instead of ignoring it silently.
#pragma once

#include <string>
#include <vector>

#include "medsam/core/config.h"

namespace medsam {

// One sentence per setting that differs from its default but has no effect, sorted by section:
// "data.augment.hflip is 0.2 but has no effect: data.augment.enabled is false".
std::vector<std::string> unused_settings(const Config& config);

}  // namespace medsam

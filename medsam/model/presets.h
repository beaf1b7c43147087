// Model presets: the only place that knows SAM's vit_b/l/h and the tiny test model.
#pragma once

#include <string>
#include <vector>

#include "medsam/core/config_model.h"

namespace medsam {

// vit_b, vit_l, vit_h (SAM's build_sam.py) and tiny (tests/fixtures/sam_tiny). Throws UsageError
// naming the known presets for anything else.
ModelConfig model_preset(const std::string& name);
std::vector<std::string> model_preset_names();

}  // namespace medsam

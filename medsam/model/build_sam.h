// Builds the SAM/MedSAM model from a config or a preset name (presets.h knows the presets).
#pragma once

#include <string>

#include "medsam/core/config_model.h"
#include "medsam/model/sam.h"

namespace medsam {

// ref: segment_anything/build_sam.py _build_sam. Validates the config; weights are random
// (load them with medsam/model/weights.h).
Sam build_sam(const ModelConfig& config);
// build_sam(model_preset(name)): tiny, vit_b, vit_l, vit_h.
Sam build_sam(const std::string& preset);

}  // namespace medsam

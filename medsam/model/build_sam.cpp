#include "medsam/model/build_sam.h"

#include <torch/torch.h>

#include "medsam/model/presets.h"

namespace medsam {

// ref: segment_anything/build_sam.py _build_sam
Sam build_sam(const ModelConfig& config) {
  config.validate();
  return Sam(config);
}

Sam build_sam(const std::string& preset) { return build_sam(model_preset(preset)); }

}  // namespace medsam

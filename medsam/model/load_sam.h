// One call from a checkpoint path to a ready model: what `medsam infer/eval/export` start with.
#pragma once

#include <string>

#include "medsam/model/sam.h"
#include "medsam/model/weights.h"

namespace medsam {

struct LoadedSam {
  Sam model{nullptr};
  WeightsReport report;
};

// arch "auto" reads the architecture from the checkpoint's shapes (guess_arch); a preset name
// (tiny, vit_b, vit_l, vit_h) forces it. Loads strictly: any missing, unexpected or mis-shaped key
// throws Error naming the file and the key.
LoadedSam load_sam(const std::string& checkpoint_path, const std::string& arch = "auto");

}  // namespace medsam

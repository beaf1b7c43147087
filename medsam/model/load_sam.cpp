#include "medsam/model/load_sam.h"

#include "medsam/model/build_sam.h"
#include "medsam/model/presets.h"

namespace medsam {

LoadedSam load_sam(const std::string& checkpoint_path, const std::string& arch) {
  const Checkpoint checkpoint = read_checkpoint(checkpoint_path);
  const ModelConfig config =
      arch == "auto" ? config_from_checkpoint(checkpoint.tensors, checkpoint_path) : model_preset(arch);
  LoadedSam loaded;
  loaded.model = build_sam(config);
  loaded.report = load_weights(*loaded.model, checkpoint, /*strict=*/true);
  return loaded;
}

}  // namespace medsam

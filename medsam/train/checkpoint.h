// Training checkpoints: {"model", "optimizer", "epoch"} as MedSAM writes them (torch.load reads them;
// "model" has SAM's key names, no prefix) plus our "trainer_state" (step, RNG, data position, resolved
// config). Written atomically; the last K are kept; the resolved config is saved beside as config.yaml.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "medsam/train/train_state.h"

namespace torch::nn {
class Module;
}

namespace medsam::train {

class AdamW;

// DIR/checkpoint_step_00000120.pth
std::string checkpoint_path(const std::string& dir, int64_t step);
// N of a DIR/checkpoint_step_N.pth path (or file name); -1 for any other name.
int64_t checkpoint_step(const std::string& path);
// The step checkpoints in dir, oldest first (by step).
std::vector<std::string> list_checkpoints(const std::string& dir);

// Refuses (Error) to write when any model parameter is NaN/inf. Writes the checkpoint atomically,
// DIR/config.yaml (the resolved config), then deletes all but the newest `keep_last` step checkpoints
// (0 = keep all). Returns the path written.
std::string save_checkpoint(const std::string& dir, torch::nn::Module& model, const AdamW& optimizer,
                            const TrainState& state, const std::string& config_yaml, int keep_last);

// A file, or a directory whose newest step checkpoint is taken. Throws Error when there is none.
std::string resolve_resume_path(const std::string& path);

// The config YAML a training checkpoint carries (trainer_state.config); "" when it has none (a MedSAM
// Python checkpoint). Reads the whole file.
std::string checkpoint_config_yaml(const std::string& path);

// Loads model weights (strict), optimizer moments and the trainer state written by save_checkpoint.
// Returns the config YAML the checkpoint was written with ("" if absent).
std::string load_checkpoint(const std::string& path, torch::nn::Module& model, AdamW& optimizer, TrainState& state);

// OUTPUT/best.pth: {"model": SAM state dict, "step": n, "val_mean_dsc": x, "val_mean_nsd": y} (infer,
// export and init_checkpoint accept the "model" wrapper), then OUTPUT/best.json with the same numbers;
// both written atomically. Returns the .pth path.
std::string save_best_model(const std::string& dir, torch::nn::Module& model, int64_t step, double mean_dsc,
                            double mean_nsd, int64_t objects);

// OUTPUT/best.pth's step and mean DSC (read from the file itself, not its data), if the folder has one
// (an unreadable one is logged and ignored).
struct BestRecord {
  int64_t step = 0;
  double mean_dsc = 0;
};
std::optional<BestRecord> read_best_record(const std::string& dir);

// The model alone as a bare SAM state dict (.pth that segment_anything's load_state_dict accepts).
void export_model(const std::string& path, torch::nn::Module& model);

// Bytes of one training checkpoint of `model` with AdamW: fp32 weights plus two fp32 moments of each
// trainable parameter (the pickle framing adds little).
uint64_t estimated_checkpoint_bytes(torch::nn::Module& model);

// Start-up check that the first checkpoint fits: throws Error naming the folder, the free and the needed
// MB when `available` < 1.1 x `checkpoint_bytes` (a run would otherwise fail hours in, at its first
// checkpoint); returns a warning when it holds less than two (the temporary beside the previous one).
std::string check_checkpoint_space(const std::string& dir, uint64_t checkpoint_bytes, uint64_t available);

// Checks at start-up that `dir` can be created and written (so a bad output path fails now, not
// after hours). Throws Error naming the directory.
void check_output_dir(const std::string& dir);

}  // namespace medsam::train

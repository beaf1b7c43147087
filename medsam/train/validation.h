// Validation during training: the model scored on a held-out split (medsam/eval evaluate_model, the
// same code as `medsam eval --checkpoint --data`), summarised overall and per modality and dataset.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "medsam/core/config_train.h"
#include "medsam/model/sam.h"

namespace medsam::eval {
struct ObjectScore;
}

namespace medsam::train {

struct GroupScore {
  std::string by;     // "modality" or "dataset"
  std::string name;   // "mr", "colin27_aal", ...
  int64_t objects = 0;
  double mean_dsc = 0, median_dsc = 0, mean_nsd = 0, median_nsd = 0;
};

struct ValidationSummary {
  int64_t objects = 0;  // scored objects (NaN scores excluded from the means)
  double mean_dsc = 0, median_dsc = 0, mean_nsd = 0, median_nsd = 0;
  std::vector<GroupScore> groups;  // modalities, then datasets, each ascending
  double seconds = 0;
};

// Overall and per-group statistics of per-object scores (eval::summarize_objects' numbers).
ValidationSummary summarize_validation(const std::vector<eval::ObjectScore>& scores);

// What the trainer calls every train.validation.every_steps (rank 0 only). Must not touch the global
// RNG or leave the model in eval mode (the trainer also guards both).
using Validator = std::function<ValidationSummary(Sam&)>;

// Scores train.validation.split of `shards_dir` (config.shards when set) with evaluate_model.
// Throws ConfigError naming train.validation.* when the split has no samples.
// precision: "fp32" or "bf16" (eval::ModelEvalOptions::precision; the trainer passes bf16 when
// train.precision is bf16, so CPU bf16 training also validates with a bf16 encoder).
Validator make_shard_validator(const ValidationConfig& config, const std::string& shards_dir,
                               const std::string& precision = "fp32");

}  // namespace medsam::train

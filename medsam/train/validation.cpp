#include "medsam/train/validation.h"

#include <fmt/format.h>

#include <chrono>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/eval/model_eval.h"
#include "medsam/eval/object_report.h"
#include "medsam/eval/split_samples.h"

namespace medsam::train {

ValidationSummary summarize_validation(const std::vector<eval::ObjectScore>& scores) {
  ValidationSummary s;
  for (const eval::GroupSummary& g : eval::summarize_objects(scores)) {
    if (g.by == "all") {
      s.objects = g.dsc.n;
      s.mean_dsc = g.dsc.mean;
      s.median_dsc = g.dsc.median;
      s.mean_nsd = g.nsd.mean;
      s.median_nsd = g.nsd.median;
    } else if (g.by == "modality" || g.by == "dataset") {
      s.groups.push_back({g.by, g.group, g.dsc.n, g.dsc.mean, g.dsc.median, g.nsd.mean, g.nsd.median});
    }
  }
  return s;
}

Validator make_shard_validator(const ValidationConfig& config, const std::string& shards_dir,
                               const std::string& precision) {
  eval::ModelEvalOptions options;
  options.precision = precision;
  options.shards_dir = config.shards.empty() ? shards_dir : config.shards;
  options.split = config.split;
  options.max_samples = config.max_samples;
  options.min_object_pixels = config.min_object_pixels;
  options.jitter_px = config.jitter_px;
  options.seed = static_cast<uint64_t>(config.seed);
  options.metrics.tolerance_mm = config.tolerance_mm;
  if (options.shards_dir.empty())
    throw ConfigError("train.validation.every_steps > 0 needs shards: set data.shards or train.validation.shards");
  // Found now, not at the first validation hours in (which would also lose that step's checkpoint): the
  // split's name, the folder's manifest and a first sample of the split.
  try {
    eval::SplitSamples first(options.shards_dir, options.split, options.min_object_pixels, /*max_samples=*/1);
  } catch (const std::exception& e) {
    throw ConfigError(fmt::format("train.validation (shards {}, split '{}'): {}", options.shards_dir, options.split,
                                  e.what()));
  }
  return [options](Sam& model) {
    const auto start = std::chrono::steady_clock::now();
    const eval::ModelEvalResult result = eval::evaluate_model(model, options);
    if (result.scores.empty())
      throw ConfigError(fmt::format("train.validation.split '{}' of {} has no object to score (min_object_pixels {})",
                                    options.split, options.shards_dir, options.min_object_pixels));
    ValidationSummary s = summarize_validation(result.scores);
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return s;
  };
}

}  // namespace medsam::train

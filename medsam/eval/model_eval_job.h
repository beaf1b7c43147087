// `medsam eval --checkpoint C --data SHARDS`: load a model, score it on a split of prepared shards,
// and write the per-object CSV, the summaries (Markdown, JSON) and the HTML report with its gallery.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "medsam/core/config_model.h"
#include "medsam/eval/model_eval.h"
#include "medsam/eval/object_report.h"

namespace medsam::eval {

struct ModelEvalJob {
  std::string checkpoint;              // SAM/MedSAM weights (.pth, .safetensors)
  std::string arch = "auto";           // auto (from the checkpoint's shapes) or a preset name
  std::optional<ModelConfig> model;    // when set (from --config/--set), this architecture instead of `arch`
  std::string device = "cpu";        // cpu, cuda, cuda:N or auto (parse_device)
  ModelEvalOptions options;
  std::string output_dir;              // metrics.csv, summary.md, summary.json, report.html, gallery/
  int gallery_per_side = 6;            // worst and best objects drawn in the report
};

struct ModelEvalJobResult {
  ModelEvalResult result;
  std::vector<GroupSummary> summary;
  std::string summary_markdown;
};

// Throws Error / UsageError naming the checkpoint, the data folder or the split; UsageError for an unknown or
// absent device (parse_device, --device) and negative counts (--jitter, --max-samples, --min-object-pixels,
// --gallery), before the checkpoint is read.
ModelEvalJobResult run_model_eval_job(const ModelEvalJob& job,
                                      const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace medsam::eval

// `medsam eval`: flags -> medsam::eval::EvalJob (medsam/eval/eval_job.h), nothing else.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>

#include "medsam/core/config.h"
#include "medsam/eval/eval_job.h"
#include "tools/command.h"
#include "tools/not_implemented.h"

namespace medsam::tools {

namespace {
struct EvalFlags {
  eval::EvalJob job;
  std::string empty = "one";
  std::string checkpoint, data;
};
}  // namespace

RunFn add_eval_command(CLI::App& app) {
  auto* sub = app.add_subcommand("eval", "Score predictions or a checkpoint with DSC and NSD");
  sub->footer(
      "Files: NIfTI/MHA/NRRD (spacing from the header) or PNG/BMP/TIFF label maps (spacing 1 mm or --spacing).\n"
      "Folders are matched by file name, then by name without extension. Every non-zero label in either\n"
      "file is scored unless --label is given. Writes metrics.csv, summary.md and summary.json to --output.\n"
      "Examples:\n"
      "  medsam eval --pred preds/ --gt labels/ --output report/\n"
      "  medsam eval --pred seg.nii.gz --gt gt.nii.gz --tolerance 2 --cvpr2024");
  auto f = std::make_shared<EvalFlags>();
  auto& j = f->job;
  auto options = std::make_shared<ConfigOptions>();
  options->add_to(*sub);
  sub->add_option("--pred", j.pred, "predicted label map, or a folder of them");
  sub->add_option("--gt", j.gt, "ground-truth label map, or a folder of them");
  sub->add_option("--output", j.output_dir, "folder for metrics.csv, summary.md, summary.json");
  sub->add_option("--tolerance", j.metrics.tolerance_mm, "NSD tolerance in mm")->capture_default_str();
  sub->add_option("--spacing", j.spacing_xy, "x,y mm for 2D images without geometry (default 1,1)")->delimiter(',');
  sub->add_option("--label", j.labels, "label(s) to score (repeatable or comma-separated)")->delimiter(',');
  sub->add_option("--empty", f->empty, "DSC and NSD when both masks are empty: one or nan")
      ->check(CLI::IsMember({"one", "nan"}))
      ->capture_default_str();
  sub->add_flag("--cvpr2024", j.metrics.cvpr2024, "CVPR 2024 rule: NSD = 0 when DSC <= 0.2");
  sub->add_option("--checkpoint", f->checkpoint, "score a model on shards (not implemented yet)");
  sub->add_option("--data", f->data, "shards for --checkpoint (not implemented yet)");

  return [f, options]() {
    Config config = options->resolve();
    if (options->dump_if_asked(config)) return 0;
    if (!f->checkpoint.empty() || !f->data.empty())
      return not_implemented("eval --checkpoint/--data", "running the model on shards for evaluation (issue 10, part 2)");
    auto& job = f->job;
    if (job.pred.empty() || job.gt.empty()) throw UsageError("eval: give --pred and --gt (files or folders)");
    if (!(job.metrics.tolerance_mm >= 0)) throw UsageError(fmt::format("--tolerance {}: must be >= 0 mm", job.metrics.tolerance_mm));
    job.metrics.both_empty = f->empty == "nan" ? eval::BothEmpty::kNaN : eval::BothEmpty::kOne;
    const auto result = eval::run_eval_job(job);
    std::cout << eval::summary_markdown(result.summary, job.metrics.tolerance_mm);
    return 0;
  };
}

}  // namespace medsam::tools

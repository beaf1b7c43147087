// `medsam eval`: flags -> medsam::eval::EvalJob (--pred/--gt, medsam/eval/eval_job.h) or
// medsam::eval::ModelEvalJob (--checkpoint/--data, medsam/eval/model_eval_job.h), nothing else.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <iostream>
#include <memory>

#include "data_prep/progress.h"
#include "medsam/core/config.h"
#include "medsam/core/error.h"
#include "medsam/core/precision.h"
#include "medsam/eval/eval_job.h"
#include "medsam/eval/model_eval_job.h"
#include "tools/command.h"

namespace medsam::tools {

namespace {
struct EvalFlags {
  eval::EvalJob job;
  eval::ModelEvalJob model_job;
  std::string empty = "one";
};

eval::BothEmpty parse_empty(const std::string& s) { return s == "nan" ? eval::BothEmpty::kNaN : eval::BothEmpty::kOne; }

int run_model_eval(EvalFlags& f, const ConfigOptions& options, const Config& config) {
  auto& job = f.model_job;
  if (job.options.shards_dir.empty())
    throw UsageError("eval --checkpoint: give --data (a `medsam prep` output folder) to score the model on");
  if (!f.job.pred.empty() || !f.job.gt.empty())
    throw UsageError("eval: --checkpoint/--data and --pred/--gt are two different modes; give one of them");
  job.options.metrics = f.job.metrics;
  job.options.metrics.both_empty = parse_empty(f.empty);
  job.arch = options.arch;
  // --config or a --set model.* describes the architecture; otherwise --arch (auto: from the checkpoint's
  // shapes). A --set of another section (train.seed) says nothing about the model.
  const bool sets_model = std::any_of(options.overrides.begin(), options.overrides.end(),
                                      [](const std::string& o) { return o.rfind("model.", 0) == 0; });
  if (!options.files.empty() || sets_model) job.model = config.model;
  job.output_dir = f.job.output_dir;
  std::unique_ptr<prep::Progress> bar;
  const auto result = eval::run_model_eval_job(job, [&](int64_t done, int64_t total) {
    if (!bar) bar = std::make_unique<prep::Progress>("eval", total);
    bar->update(done, "samples");
  });
  std::cout << result.summary_markdown;
  return 0;
}
}  // namespace

RunFn add_eval_command(CLI::App& app) {
  auto* sub = app.add_subcommand("eval", "Score predictions or a checkpoint with DSC and NSD");
  sub->footer(
      "Two modes.\n"
      "--pred/--gt: NIfTI/MHA/NRRD (spacing from the header) or PNG/BMP/TIFF label maps (1 mm or --spacing).\n"
      "  Folders are matched by file name, then by name without extension. Every non-zero label in either\n"
      "  file is scored unless --label is given. Writes metrics.csv, summary.md, summary.json, report.html.\n"
      "--checkpoint/--data: runs the model on every sample of a split of `medsam prep` shards, one box per\n"
      "  object (tight, or jittered by --jitter/--seed), MedSAM post-processing; scores DSC/NSD in 2D with the\n"
      "  pixel spacing from the shards. Writes per-object metrics.csv, summary.md/.json (per label, modality,\n"
      "  dataset) and report.html (box plots per modality, gallery of the worst and best objects in gallery/).\n"
      "Examples:\n"
      "  medsam eval --pred preds/ --gt labels/ --output report/\n"
      "  medsam eval --pred seg.nii.gz --gt gt.nii.gz --tolerance 2 --cvpr2024\n"
      "  medsam eval --checkpoint medsam_vit_b.pth --data shards/ --split test --output report/");
  auto f = std::make_shared<EvalFlags>();
  auto& j = f->job;
  auto& m = f->model_job;
  auto options = std::make_shared<ConfigOptions>();
  options->arch = "auto";
  options->add_to(*sub);
  sub->add_option("--pred", j.pred, "predicted label map, or a folder of them");
  sub->add_option("--gt", j.gt, "ground-truth label map, or a folder of them");
  sub->add_option("--output", j.output_dir, "folder for metrics.csv, summary.md, summary.json, report.html");
  sub->add_option("--tolerance", j.metrics.tolerance_mm, "NSD tolerance in mm")->capture_default_str();
  sub->add_option("--spacing", j.spacing_xy, "x,y mm for 2D images without geometry (default 1,1)")->delimiter(',');
  sub->add_option("--label", j.labels, "label(s) to score (repeatable or comma-separated)")->delimiter(',');
  sub->add_option("--empty", f->empty, "DSC and NSD when both masks are empty: one or nan")
      ->check(CLI::IsMember({"one", "nan"}))
      ->capture_default_str();
  sub->add_flag("--cvpr2024", j.metrics.cvpr2024, "CVPR 2024 rule: NSD = 0 when DSC <= 0.2");
  sub->add_option("--checkpoint", m.checkpoint, "score this model (SAM/MedSAM .pth or .safetensors) on --data");
  sub->add_option("--data", m.options.shards_dir, "a `medsam prep` output folder (manifest.json + shards)");
  sub->add_option("--split", m.options.split, "split to score: train, val or test")->capture_default_str();
  sub->add_option("--jitter", m.options.jitter_px, "move each box side outward by U[0, PX] pixels (0: tight boxes)")
      ->capture_default_str();
  sub->add_option("--seed", m.options.seed, "seed of the box jitter")->capture_default_str();
  sub->add_option("--max-samples", m.options.max_samples, "score only the first N samples of the split (0: all)")
      ->capture_default_str();
  sub->add_option("--min-object-pixels", m.options.min_object_pixels, "skip objects smaller than this (stored pixels)")
      ->capture_default_str();
  sub->add_option("--gallery", m.gallery_per_side, "worst and best objects drawn in report.html (each)")
      ->capture_default_str();
  sub->add_option("--device", m.device, "cpu, cuda[:N] or auto")->capture_default_str();
  sub->add_option("--precision", m.options.precision,
                  "with --checkpoint: fp32, bf16 (autocast: the whole model on CUDA, the image encoder on the CPU) or "
                  "bf16-autocast (as medsam infer)")
      ->capture_default_str()
      ->check(CLI::IsMember(precision_names()));

  // Flags of one mode given in the other did nothing: refused, naming them.
  auto given = [sub](std::initializer_list<const char*> names) {
    std::vector<std::string> out;
    for (const char* n : names)
      if (sub->get_option(n)->count() > 0) out.push_back(n);
    return out;
  };
  return [f, options, given]() {
    // --arch auto is not a preset: the YAML config starts from vit_b then (only --dump-config and
    // --config/--set use it).
    ConfigOptions resolved = *options;
    if (resolved.arch == "auto") resolved.arch = "vit_b";
    Config config = resolved.resolve();
    if (options->dump_if_asked(config)) return 0;
    if (!(f->job.metrics.tolerance_mm >= 0))
      throw UsageError(fmt::format("--tolerance {}: must be >= 0 mm", f->job.metrics.tolerance_mm));
    if (!f->model_job.checkpoint.empty() || !f->model_job.options.shards_dir.empty()) {
      if (f->model_job.checkpoint.empty()) throw UsageError("eval --data: give --checkpoint (the model to score)");
      if (const auto other = given({"--label", "--spacing"}); !other.empty())
        throw UsageError(fmt::format("eval --checkpoint/--data: {} appl{} to --pred/--gt only (shards carry their "
                                     "spacing; every labelled object is scored)",
                                     fmt::join(other, ", "), other.size() == 1 ? "ies" : "y"));
      return run_model_eval(*f, *options, config);
    }
    if (const auto other = given({"--split", "--jitter", "--seed", "--max-samples", "--min-object-pixels", "--gallery",
                                  "--device", "--precision", "--arch", "--config", "--set"});
        !other.empty())
      throw UsageError(fmt::format("eval --pred/--gt: {} appl{} to --checkpoint/--data only (label files are scored "
                                   "as they are)",
                                   fmt::join(other, ", "), other.size() == 1 ? "ies" : "y"));
    auto& job = f->job;
    // x,y as given (the label reader stores them y,x): two finite values > 0, or none (1 mm).
    const auto& sp = job.spacing_xy;
    if (!sp.empty() && (sp.size() != 2 || std::any_of(sp.begin(), sp.end(), [](double v) {
                          return !(v > 0) || !std::isfinite(v);
                        })))
      throw UsageError(fmt::format("--spacing {}: give x,y, two finite numbers > 0 (mm per pixel)", fmt::join(sp, ",")));
    if (job.pred.empty() || job.gt.empty())
      throw UsageError("eval: give --pred and --gt (files or folders), or --checkpoint and --data");
    job.metrics.both_empty = parse_empty(f->empty);
    const auto result = eval::run_eval_job(job);
    std::cout << eval::summary_markdown(result.summary, job.metrics.tolerance_mm);
    return 0;
  };
}

}  // namespace medsam::tools

#include "medsam/eval/model_eval_job.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "medsam/core/device.h"
#include "medsam/core/error.h"
#include "medsam/data/manifest.h"
#include "medsam/eval/contour_overlay.h"
#include "medsam/eval/gallery.h"
#include "medsam/eval/html_report.h"
#include "medsam/eval/split_samples.h"
#include "medsam/io/atomic_file.h"
#include "medsam/model/build_sam.h"
#include "medsam/model/load_sam.h"
#include "medsam/model/weights.h"

namespace medsam::eval {

namespace fs = std::filesystem;

namespace {

Sam load_model(const ModelEvalJob& job) {
  if (!job.model) return load_sam(job.checkpoint, job.arch).model;
  Sam model = build_sam(*job.model);
  load_weights(*model, job.checkpoint, /*strict=*/true);
  return model;
}

LabelNames label_names(const data::Manifest& manifest) {
  LabelNames names;
  for (const auto& d : manifest.datasets)
    for (const auto& [id, name] : d.labels) names[d.name][id] = name;
  return names;
}

// One box plot per modality (DSC and NSD side by side), in the summary's modality order.
std::vector<BoxPlot> modality_plots(const std::vector<ObjectScore>& scores) {
  std::map<std::string, BoxPlot> plots;
  for (const auto& s : scores) {
    auto& p = plots[s.modality];
    if (p.series.empty()) p.series = {{"DSC", {}}, {"NSD", {}}};
    p.series[0].values.push_back(s.dsc);
    p.series[1].values.push_back(s.nsd);
  }
  std::vector<BoxPlot> out;
  for (auto& [modality, p] : plots) {
    p.title = fmt::format("{} ({} objects)", modality, p.series[0].values.size());
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

ModelEvalJobResult run_model_eval_job(const ModelEvalJob& job, const std::function<void(int64_t, int64_t)>& progress) {
  if (job.checkpoint.empty()) throw UsageError("eval: --checkpoint is empty");
  if (job.options.shards_dir.empty()) throw UsageError("eval --checkpoint: give --data (a `medsam prep` output folder)");
  check_split_name(job.options.split);
  if (job.options.jitter_px < 0) throw UsageError(fmt::format("--jitter {}: must be >= 0 px", job.options.jitter_px));
  if (job.options.max_samples < 0)
    throw UsageError(fmt::format("--max-samples {}: must be >= 0 (0: every sample)", job.options.max_samples));
  if (job.options.min_object_pixels < 0)
    throw UsageError(fmt::format("--min-object-pixels {}: must be >= 0", job.options.min_object_pixels));
  if (job.gallery_per_side < 0)
    throw UsageError(fmt::format("--gallery {}: must be >= 0 (0: no gallery)", job.gallery_per_side));
  // Before the checkpoint is read: an unknown or absent device is a usage error naming --device.
  const c10::Device device = parse_device(job.device, "--device");
  if (!fs::exists(job.options.shards_dir + "/manifest.json"))
    throw Error(fmt::format("--data {}: no manifest.json (is it a `medsam prep` output folder?)", job.options.shards_dir));
  if (!fs::exists(job.checkpoint)) throw Error(fmt::format("--checkpoint {}: no such file", job.checkpoint));

  Sam model = load_model(job);
  model->to(device);

  ModelEvalJobResult out;
  Gallery gallery(job.output_dir.empty() || !contour_overlay_available() ? 0 : job.gallery_per_side);
  bool spacing_from_metadata = true;
  int64_t samples = 0;
  evaluate_samples(model, job.options, [&](const EvaluatedSample& sample, int64_t done, int64_t total) {
    out.result.scores.insert(out.result.scores.end(), sample.scores.begin(), sample.scores.end());
    spacing_from_metadata = spacing_from_metadata && sample.spacing_from_metadata;
    gallery.offer(sample);
    samples = total;
    if (progress) progress(done, total);
  });
  const auto manifest = data::Manifest::load(job.options.shards_dir + "/manifest.json");
  out.summary = summarize_objects(out.result.scores, label_names(manifest));
  const auto& all = out.summary.front();
  out.result.mean_dsc = all.dsc.mean;
  out.result.median_dsc = all.dsc.median;
  out.result.mean_nsd = all.nsd.mean;
  out.result.median_nsd = all.nsd.median;

  const auto& o = job.options;
  const RunInfo info = {
      {"checkpoint", job.checkpoint},
      {"data", o.shards_dir},
      {"split", o.split},
      {"samples", std::to_string(samples)},
      {"objects", std::to_string(out.result.scores.size())},
      {"boxes", o.jitter_px > 0 ? fmt::format("tight ground-truth box, each side moved out by U[0, {}] px (seed {})",
                                              o.jitter_px, o.seed)
                                : std::string("tight ground-truth box")},
      {"min_object_pixels", std::to_string(o.min_object_pixels)},
      {"pixel_spacing", spacing_from_metadata ? "from the shards' metadata (source spacing x original/stored size)"
                                              : "1 mm (some samples have no spacing in their metadata)"},
      {"cvpr2024_rule", o.metrics.cvpr2024 ? "on" : "off"},
      {"precision", o.precision},
  };
  const double tol = o.metrics.tolerance_mm;
  out.summary_markdown = object_summary_markdown(out.summary, tol, info);
  if (job.output_dir.empty()) return out;

  fs::create_directories(job.output_dir);
  write_file_atomically(job.output_dir + "/metrics.csv", object_scores_csv(out.result.scores));
  write_file_atomically(job.output_dir + "/summary.md", out.summary_markdown);
  write_file_atomically(job.output_dir + "/summary.json", object_summary_json(out.summary, tol, info));
  HtmlReport report;
  report.title = "medsam evaluation: " + fs::path(job.checkpoint).filename().string() + " on " + o.split;
  report.info = info;
  report.summary = out.summary;
  report.tolerance_mm = tol;
  report.plots = modality_plots(out.result.scores);
  const Gallery::Items items = gallery.write(job.output_dir);
  report.worst = items.worst;
  report.best = items.best;
  report.gallery_note = contour_overlay_available() ? "No object with a finite DSC."
                                                    : "No gallery: this medsam was built without OpenCV.";
  write_file_atomically(job.output_dir + "/report.html", html_report(report));
  return out;
}

}  // namespace medsam::eval

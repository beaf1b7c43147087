#include "medsam/eval/eval_job.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "medsam/core/directory.h"
#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/eval/html_report.h"
#include "medsam/eval/label_file.h"
#include "medsam/io/volume_geometry.h"
#include "medsam/eval/surface_distance.h"
#include "medsam/io/atomic_file.h"

namespace medsam::eval {

namespace fs = std::filesystem;

namespace {

struct CasePair {
  std::string name, pred, gt;
};

std::vector<std::string> label_files_in(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : list_directory(dir))
    if (entry.is_regular_file && is_label_file(entry.path)) files.push_back(entry.path);
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<CasePair> match_cases(const std::string& pred, const std::string& gt) {
  if (!fs::exists(gt)) throw Error(fmt::format("--gt {}: no such file or folder", gt));
  if (!fs::exists(pred)) throw Error(fmt::format("--pred {}: no such file or folder", pred));
  if (!fs::is_directory(gt)) {
    if (fs::is_directory(pred)) throw UsageError(fmt::format("--gt {} is a file but --pred {} is a folder", gt, pred));
    return {{label_file_stem(gt), pred, gt}};
  }
  if (!fs::is_directory(pred)) throw UsageError(fmt::format("--gt {} is a folder but --pred {} is a file", gt, pred));
  const auto gts = label_files_in(gt);
  if (gts.empty()) throw Error(fmt::format("--gt {}: no label files (.nii.gz, .mha, .nrrd, .png, ...) in it", gt));
  std::map<std::string, std::string> pred_by_name, pred_by_stem;
  for (const auto& p : label_files_in(pred)) {
    pred_by_name[fs::path(p).filename().string()] = p;
    pred_by_stem[label_file_stem(p)] = p;
  }
  std::vector<CasePair> pairs;
  std::vector<std::string> missing;
  for (const auto& g : gts) {
    const std::string name = fs::path(g).filename().string(), stem = label_file_stem(g);
    if (const auto by_name = pred_by_name.find(name); by_name != pred_by_name.end())
      pairs.push_back({stem, by_name->second, g});
    else if (const auto by_stem = pred_by_stem.find(stem); by_stem != pred_by_stem.end())
      pairs.push_back({stem, by_stem->second, g});
    else
      missing.push_back(name);
  }
  if (!missing.empty()) {
    const size_t shown = std::min<size_t>(missing.size(), 5);
    throw Error(fmt::format("--pred {}: no prediction for {} of {} ground-truth files ({}{})", pred, missing.size(),
                            gts.size(), fmt::join(missing.begin(), missing.begin() + shown, ", "),
                            missing.size() > shown ? ", ..." : ""));
  }
  return pairs;
}

std::vector<int64_t> labels_present(const at::Tensor& a, const at::Tensor& b) {
  std::set<int64_t> out;
  for (const at::Tensor& t : {a, b}) {
    const at::Tensor u = std::get<0>(at::_unique(t.flatten(), /*sorted=*/true));
    for (int64_t i = 0; i < u.numel(); ++i)
      if (const int64_t v = u[i].item<int64_t>(); v != 0) out.insert(v);
  }
  return {out.begin(), out.end()};
}

// report.html for --pred/--gt: the summary and one box plot of every case's DSC and NSD (there is no
// modality and no image to draw a gallery from).
std::string pred_gt_html(const EvalJob& job, const EvalResult& result) {
  HtmlReport r;
  r.title = "medsam evaluation: " + job.pred + " vs " + job.gt;
  r.info = {{"prediction", job.pred}, {"ground truth", job.gt}, {"scores", std::to_string(result.scores.size())}};
  for (const auto& row : result.summary)
    r.summary.push_back({row.label == "all" || row.label == "cases" ? row.label : "label", row.label, row.dsc, row.nsd});
  // summarize() puts "all" last; the report shows it first.
  std::rotate(r.summary.rbegin(), r.summary.rbegin() + 1, r.summary.rend());
  r.tolerance_mm = job.metrics.tolerance_mm;
  BoxPlot plot{fmt::format("all cases ({} scores)", result.scores.size()), {{"DSC", {}}, {"NSD", {}}}};
  for (const auto& s : result.scores) {
    plot.series[0].values.push_back(s.dsc);
    plot.series[1].values.push_back(s.nsd);
  }
  r.plots.push_back(plot);
  r.gallery_note = "No gallery for --pred/--gt (the images are not given); --checkpoint/--data draws one.";
  return html_report(r);
}

}  // namespace

EvalResult run_eval_job(const EvalJob& job) {
  EvalResult result;
  const auto pairs = match_cases(job.pred, job.gt);
  std::set<int64_t> labels_seen;  // --label ids found in some ground truth or prediction
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& c = pairs[i];
    log_info("eval [{}/{}] {}", i + 1, pairs.size(), c.name);
    const LabelFile gt = read_label_file(c.gt, job.spacing_xy);
    const LabelFile pred = read_label_file(c.pred, job.spacing_xy);
    if (gt.labels.sizes() != pred.labels.sizes())
      throw Error(fmt::format("case {}: prediction {} is {} but ground truth {} is {}", c.name, c.pred,
                              fmt::join(pred.labels.sizes(), "x"), c.gt, fmt::join(gt.labels.sizes(), "x")));
    // Same size is not same place: a prediction stored with flipped axes, or on another grid, would be
    // scored voxel by voxel against the wrong voxels.
    if (gt.geometry && pred.geometry)
      if (const auto difference = io::geometry_difference(*gt.geometry, *pred.geometry))
        throw Error(fmt::format("case {}: prediction {} and ground truth {} are not on the same grid: {} (resample the "
                                "prediction onto the ground truth's grid)",
                                c.name, c.pred, c.gt, *difference));
    const auto present = labels_present(gt.labels, pred.labels);
    auto labels = job.labels.empty() ? present : job.labels;
    if (!job.labels.empty())
      for (int64_t label : present) labels_seen.insert(label);
    const bool cvpr = job.metrics.cvpr2024;
    if (cvpr && job.labels.empty()) {
      // ref: LiteMedSAM evaluation/compute_metrics.py compute_multi_class_dsc: range(1, gt.max() + 1)
      const int64_t top = gt.labels.numel() ? gt.labels.max().item<int64_t>() : 0;
      labels.erase(std::remove_if(labels.begin(), labels.end(), [&](int64_t l) { return l > top; }), labels.end());
    }
    MetricOptions per_label = job.metrics;
    per_label.cvpr2024 = false;  // the CVPR rule applies to the case's mean DSC, below
    std::vector<double> dscs, nsds;
    for (int64_t label : labels) {
      const at::Tensor p = pred.labels == label, g = gt.labels == label;
      MaskScores s = score_masks(p, g, gt.spacing, per_label);
      if (cvpr && g.dim() == 2) {  // the reference's 2D NSD: (H, W, 1) with the 3D tables at 1 mm
        const double slab = normalized_surface_dice(p.unsqueeze(0), g.unsqueeze(0), {1.0, 1.0, 1.0},
                                                    job.metrics.tolerance_mm);
        if (!std::isnan(slab)) s.nsd = slab;
      }
      result.scores.push_back({c.name, label, s.dsc, s.nsd});
      if (!std::isnan(s.dsc)) dscs.push_back(s.dsc);
      if (!std::isnan(s.nsd)) nsds.push_back(s.nsd);
    }
    const auto mean = [](const std::vector<double>& v) {
      double total = 0;
      for (double x : v) total += x;
      return v.empty() ? std::nan("") : total / static_cast<double>(v.size());
    };
    const double case_dsc = mean(dscs);
    // ref: compute_metrics.py compute_metrics: "if dsc > 0.2" on the case's mean, else NSD = 0
    const double case_nsd = cvpr && !(case_dsc > 0.2) ? 0.0 : mean(nsds);
    result.cases.push_back({c.name, 0, case_dsc, case_nsd});
  }
  // A --label no file holds would score 1.0 in every case (both masks empty) and lift the mean: a typo.
  for (int64_t label : job.labels)
    if (!pairs.empty() && !labels_seen.count(label))
      throw UsageError(fmt::format("--label {}: no ground truth or prediction of the {} case(s) holds it (labels "
                                   "present: {}); it would score as {} everywhere", label, pairs.size(),
                                   fmt::join(labels_seen, ", "), "two empty masks"));
  result.summary = summarize(result.scores);
  std::vector<double> case_dsc, case_nsd;
  for (const auto& c : result.cases) {
    case_dsc.push_back(c.dsc);
    case_nsd.push_back(c.nsd);
  }
  // Before "all" (the pooled (case, label) rows), which stays last.
  result.summary.insert(result.summary.end() - 1, {"cases", compute_stats(case_dsc), compute_stats(case_nsd)});
  if (!job.output_dir.empty()) {
    fs::create_directories(job.output_dir);
    write_file_atomically(job.output_dir + "/metrics.csv", scores_csv(result.scores));
    write_file_atomically(job.output_dir + "/cases.csv", case_scores_csv(result.cases));
    write_file_atomically(job.output_dir + "/summary.md", summary_markdown(result.summary, job.metrics.tolerance_mm));
    write_file_atomically(job.output_dir + "/summary.json", summary_json(result.summary, job.metrics.tolerance_mm));
    write_file_atomically(job.output_dir + "/report.html", pred_gt_html(job, result));
  }
  return result;
}

}  // namespace medsam::eval

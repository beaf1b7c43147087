// `medsam eval --pred P --gt G`: score prediction files against ground-truth files, per case and label.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "medsam/eval/mask_scores.h"
#include "medsam/eval/metrics_report.h"

namespace medsam::eval {

// --cvpr2024 scores a case as the CVPR 2024 MedSAM-on-laptop evaluation (LiteMedSAM
// evaluation/compute_metrics.py) does: labels 1..max(gt) (a label in neither file is skipped, where the
// reference's mean would turn NaN), the case's DSC the mean over them, its NSD the mean over them when that
// DSC > 0.2 and 0 otherwise; a 2D case's NSD on the mask as a one-slice volume at 1 mm (the reference's
// expand_dims(-1) with spacing [1, 1, 1]); the summary's "cases" row is the challenge's number.
struct EvalJob {
  std::string pred;                  // a label file or a folder of them
  std::string gt;                    // the same kind: file with file, folder with folder
  std::string output_dir;            // writes metrics.csv, summary.md, summary.json, report.html; empty: none
  std::vector<double> spacing_xy;    // mm for files without geometry (2D images); empty = 1 mm
  std::vector<int64_t> labels;       // labels to score; empty = every non-zero label in gt or pred
  MetricOptions metrics;
};

struct EvalResult {
  std::vector<CaseScore> scores;       // one per case and label, cases in file-name order
  std::vector<CaseScore> cases;        // one per case (label 0): the mean over its scored labels
  std::vector<LabelSummary> summary;   // per label, "cases" (mean per case, then over cases), then "all"
};

// Folders are matched by file name, then by name without extension (so case1.png scores against
// case1.nii.gz); a ground-truth file without a prediction is an Error naming it. The spacing is the
// ground truth's. Throws Error on unreadable files and shape mismatches, naming the files.
EvalResult run_eval_job(const EvalJob& job);

}  // namespace medsam::eval

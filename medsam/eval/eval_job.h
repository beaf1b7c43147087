// `medsam eval --pred P --gt G`: score prediction files against ground-truth files, per case and label.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "medsam/eval/mask_scores.h"
#include "medsam/eval/metrics_report.h"

namespace medsam::eval {

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
  std::vector<LabelSummary> summary;   // per label, then "all"
};

// Folders are matched by file name, then by name without extension (so case1.png scores against
// case1.nii.gz); a ground-truth file without a prediction is an Error naming it. The spacing is the
// ground truth's. Throws Error on unreadable files and shape mismatches, naming the files.
EvalResult run_eval_job(const EvalJob& job);

}  // namespace medsam::eval

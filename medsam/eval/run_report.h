// The report of a fine-tuning run, the page a person looks at first after `scripts/demo`: before/after
// DSC and NSD from two `medsam eval --checkpoint` outputs, the training curves from the run's
// metrics.jsonl, and pictures, as one self-contained HTML page (SVG charts, PNGs embedded) and a
// Markdown twin.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace medsam::eval {

struct RunReportInput {
  std::string title = "medsam fine-tuning report";
  std::string before_dir;  // `medsam eval --output` folder of the starting model (summary.json)
  std::string after_dir;   // the same for the fine-tuned model
  std::string run_dir;     // `medsam train --output` folder (metrics.jsonl); "" = no curves
  std::vector<std::pair<std::string, std::string>> images;  // (PNG file, caption), embedded in the page
  std::vector<std::pair<std::string, std::string>> facts;   // key/value lines shown first (machine, times)
};

struct RunReport {
  std::string html;
  std::string markdown;
  double before_mean_dsc = 0, after_mean_dsc = 0;  // overall means, for callers that check the gain
  // What makes the two evaluations not comparable ("split: val vs test", from their summaries' "run" blocks
  // and NSD tolerances; the checkpoint and precision may differ). The report shows them at its top.
  std::vector<std::string> mismatches;
};

// Throws Error naming the file when a summary.json or metrics.jsonl is missing or malformed.
RunReport make_run_report(const RunReportInput& input);

}  // namespace medsam::eval

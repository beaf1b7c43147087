// Per-case scores and their summary: CSV rows in, median / IQR / mean per label out, as Markdown and JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace medsam::eval {

struct CaseScore {
  std::string case_name;
  int64_t label = 0;
  double dsc = 0;
  double nsd = 0;
};

// Statistics of one metric over cases; NaN scores (both masks empty with --empty nan) are left out
// and counted.
struct Stats {
  int64_t n = 0;    // finite values
  int64_t nan = 0;  // NaN values left out
  double median = 0, q1 = 0, q3 = 0, mean = 0;  // quartiles by linear interpolation (numpy's default)
};

struct LabelSummary {
  std::string label;  // the label value, or "all"
  Stats dsc, nsd;
};

Stats compute_stats(std::vector<double> values);

// One row per label present in `scores` (ascending), then "all" over every row.
std::vector<LabelSummary> summarize(const std::vector<CaseScore>& scores);

// case,label,dsc,nsd with a header; NaN written as "nan".
std::string scores_csv(const std::vector<CaseScore>& scores);
// cases.csv: case, dsc, nsd (one row per case; the label column is left out).
std::string case_scores_csv(const std::vector<CaseScore>& cases);
std::string summary_markdown(const std::vector<LabelSummary>& summary, double tolerance_mm);
std::string summary_json(const std::vector<LabelSummary>& summary, double tolerance_mm);

}  // namespace medsam::eval

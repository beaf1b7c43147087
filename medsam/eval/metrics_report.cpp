#include "medsam/eval/metrics_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "medsam/eval/report_format.h"

namespace medsam::eval {

namespace {

// ref: numpy.percentile(values, q) with the default linear interpolation, on sorted values
double quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

Stats compute_stats(std::vector<double> values) {
  Stats s;
  const auto nan_end = std::remove_if(values.begin(), values.end(), [](double x) { return std::isnan(x); });
  s.nan = static_cast<int64_t>(values.end() - nan_end);
  values.erase(nan_end, values.end());
  s.n = static_cast<int64_t>(values.size());
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.median = quantile(values, 0.5);
  s.q1 = quantile(values, 0.25);
  s.q3 = quantile(values, 0.75);
  double total = 0;
  for (double x : values) total += x;
  s.mean = total / static_cast<double>(values.size());
  return s;
}

std::vector<LabelSummary> summarize(const std::vector<CaseScore>& scores) {
  std::map<int64_t, std::pair<std::vector<double>, std::vector<double>>> by_label;
  std::vector<double> all_dsc, all_nsd;
  for (const auto& s : scores) {
    by_label[s.label].first.push_back(s.dsc);
    by_label[s.label].second.push_back(s.nsd);
    all_dsc.push_back(s.dsc);
    all_nsd.push_back(s.nsd);
  }
  std::vector<LabelSummary> out;
  for (const auto& [label, v] : by_label) out.push_back({std::to_string(label), compute_stats(v.first), compute_stats(v.second)});
  out.push_back({"all", compute_stats(all_dsc), compute_stats(all_nsd)});
  return out;
}

std::string scores_csv(const std::vector<CaseScore>& scores) {
  std::string out = "case,label,dsc,nsd\n";
  for (const auto& s : scores) out += fmt::format("{},{},{},{}\n", csv_field(s.case_name), s.label, score_text(s.dsc), score_text(s.nsd));
  return out;
}

std::string case_scores_csv(const std::vector<CaseScore>& cases) {
  std::string out = "case,dsc,nsd\n";
  for (const auto& c : cases) out += fmt::format("{},{},{}\n", csv_field(c.case_name), score_text(c.dsc), score_text(c.nsd));
  return out;
}

std::string summary_markdown(const std::vector<LabelSummary>& summary, double tolerance_mm) {
  std::string out = fmt::format(
      "| label | n | DSC median | DSC IQR | DSC mean | NSD@{}mm median | NSD IQR | NSD mean |\n"
      "|---|---|---|---|---|---|---|---|\n",
      tolerance_mm);
  const auto& cell = stat_cell;
  for (const auto& row : summary) {
    const std::string n = row.dsc.nan > 0 ? fmt::format("{} (+{} NaN)", row.dsc.n, row.dsc.nan) : std::to_string(row.dsc.n);
    out += fmt::format("| {} | {} | {} | {}–{} | {} | {} | {}–{} | {} |\n", row.label, n, cell(row.dsc, row.dsc.median),
                       cell(row.dsc, row.dsc.q1), cell(row.dsc, row.dsc.q3), cell(row.dsc, row.dsc.mean),
                       cell(row.nsd, row.nsd.median), cell(row.nsd, row.nsd.q1), cell(row.nsd, row.nsd.q3),
                       cell(row.nsd, row.nsd.mean));
  }
  return out;
}

std::string summary_json(const std::vector<LabelSummary>& summary, double tolerance_mm) {
  nlohmann::json labels = nlohmann::json::array();
  for (const auto& row : summary)
    labels.push_back({{"label", row.label}, {"dsc", stats_json(row.dsc)}, {"nsd", stats_json(row.nsd)}});
  return nlohmann::json{{"nsd_tolerance_mm", tolerance_mm}, {"labels", labels}}.dump(2) + "\n";
}

}  // namespace medsam::eval

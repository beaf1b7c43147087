#include "medsam/eval/object_report.h"

#include <fmt/format.h>

#include "medsam/eval/report_format.h"

namespace medsam::eval {

namespace {

struct Values {
  std::vector<double> dsc, nsd;
  void add(const ObjectScore& s) {
    dsc.push_back(s.dsc);
    nsd.push_back(s.nsd);
  }
};

std::string label_group(const ObjectScore& s, const LabelNames& names) {
  std::string name;
  if (const auto d = names.find(s.dataset); d != names.end())
    if (const auto l = d->second.find(s.label); l != d->second.end()) name = l->second;
  return name.empty() ? fmt::format("{}:{}", s.dataset, s.label) : fmt::format("{}:{} {}", s.dataset, s.label, name);
}


}  // namespace

const char* group_section_title(const std::string& by) {
  if (by == "all") return "Overall";
  if (by == "modality") return "Per modality";
  if (by == "dataset") return "Per dataset";
  return "Per label";
}

std::vector<GroupSummary> summarize_objects(const std::vector<ObjectScore>& scores, const LabelNames& names) {
  Values all;
  std::map<std::string, Values> by_modality, by_dataset;
  std::map<std::pair<std::string, int64_t>, std::pair<std::string, Values>> by_label;  // sorted by dataset, id
  for (const auto& s : scores) {
    all.add(s);
    by_modality[s.modality].add(s);
    by_dataset[s.dataset].add(s);
    auto& l = by_label[{s.dataset, s.label}];
    if (l.first.empty()) l.first = label_group(s, names);
    l.second.add(s);
  }
  std::vector<GroupSummary> out;
  out.push_back({"all", "all", compute_stats(all.dsc), compute_stats(all.nsd)});
  for (const auto& [m, v] : by_modality) out.push_back({"modality", m, compute_stats(v.dsc), compute_stats(v.nsd)});
  for (const auto& [d, v] : by_dataset) out.push_back({"dataset", d, compute_stats(v.dsc), compute_stats(v.nsd)});
  for (const auto& [key, l] : by_label)
    out.push_back({"label", l.first, compute_stats(l.second.dsc), compute_stats(l.second.nsd)});
  return out;
}

std::string object_scores_csv(const std::vector<ObjectScore>& scores) {
  std::string out = "dataset,modality,case,slice,label,dsc,nsd\n";
  for (const auto& s : scores)
    out += fmt::format("{},{},{},{},{},{},{}\n", csv_field(s.dataset), csv_field(s.modality), csv_field(s.case_id),
                       s.slice, s.label, score_text(s.dsc), score_text(s.nsd));
  return out;
}

std::string object_summary_markdown(const std::vector<GroupSummary>& summary, double tolerance_mm,
                                    const RunInfo& info) {
  std::string out = "# Evaluation summary\n\n";
  for (const auto& [k, v] : info) out += fmt::format("- {}: {}\n", k, v);
  if (!info.empty()) out += "\n";
  std::string section;
  for (const auto& row : summary) {
    if (row.by != section) {
      section = row.by;
      out += fmt::format(
          "## {}\n\n| {} | n | DSC median | DSC IQR | DSC mean | NSD@{}mm median | NSD IQR | NSD mean |\n"
          "|---|---|---|---|---|---|---|---|\n",
          group_section_title(section), section == "all" ? "objects" : section, tolerance_mm);
    }
    const std::string n =
        row.dsc.nan > 0 ? fmt::format("{} (+{} NaN)", row.dsc.n, row.dsc.nan) : std::to_string(row.dsc.n);
    out += fmt::format("| {} | {} | {} | {}–{} | {} | {} | {}–{} | {} |\n", row.group, n,
                       stat_cell(row.dsc, row.dsc.median), stat_cell(row.dsc, row.dsc.q1),
                       stat_cell(row.dsc, row.dsc.q3), stat_cell(row.dsc, row.dsc.mean),
                       stat_cell(row.nsd, row.nsd.median), stat_cell(row.nsd, row.nsd.q1),
                       stat_cell(row.nsd, row.nsd.q3), stat_cell(row.nsd, row.nsd.mean));
    // A blank line closes each table before the next section starts.
    const bool last_of_section = &row == &summary.back() || (&row + 1)->by != section;
    if (last_of_section) out += "\n";
  }
  return out;
}

std::string object_summary_json(const std::vector<GroupSummary>& summary, double tolerance_mm, const RunInfo& info) {
  nlohmann::ordered_json j;
  nlohmann::ordered_json run = nlohmann::ordered_json::object();
  for (const auto& [k, v] : info) run[k] = v;
  j["run"] = run;
  j["nsd_tolerance_mm"] = tolerance_mm;
  j["overall"] = nullptr;
  for (const char* by : {"modality", "dataset", "label"}) j[by] = nlohmann::ordered_json::array();
  for (const auto& row : summary) {
    nlohmann::ordered_json r{{"group", row.group}, {"dsc", stats_json(row.dsc)}, {"nsd", stats_json(row.nsd)}};
    if (row.by == "all")
      j["overall"] = r;
    else
      j[row.by].push_back(r);
  }
  return j.dump(2) + "\n";
}

}  // namespace medsam::eval

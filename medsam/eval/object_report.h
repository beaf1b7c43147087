// Reports of a model evaluation on shards: per-object CSV, and summaries (median, IQR, mean) overall,
// per modality, per dataset and per label, as Markdown and JSON.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "medsam/eval/metrics_report.h"
#include "medsam/eval/model_eval.h"

namespace medsam::eval {

// dataset -> label id -> label name (from the manifest), used to name label groups.
using LabelNames = std::map<std::string, std::map<int64_t, std::string>>;

struct GroupSummary {
  std::string by;     // "all", "modality", "dataset" or "label"
  std::string group;  // "all", "mr", "colin", "colin:17 Hippocampus_L"
  Stats dsc, nsd;
};

// Row order: all; then modalities, datasets, labels, each ascending (labels by dataset, then id).
std::vector<GroupSummary> summarize_objects(const std::vector<ObjectScore>& scores, const LabelNames& names = {});

// The heading of a GroupSummary::by section: "Overall", "Per modality", "Per dataset", "Per label".
const char* group_section_title(const std::string& by);

// dataset,modality,case,slice,label,dsc,nsd with a header; NaN written as "nan".
std::string object_scores_csv(const std::vector<ObjectScore>& scores);

// Key/value lines about the run (checkpoint, split, ...) shown above the tables and stored in the JSON.
using RunInfo = std::vector<std::pair<std::string, std::string>>;

std::string object_summary_markdown(const std::vector<GroupSummary>& summary, double tolerance_mm,
                                    const RunInfo& info = {});
std::string object_summary_json(const std::vector<GroupSummary>& summary, double tolerance_mm,
                                const RunInfo& info = {});

}  // namespace medsam::eval

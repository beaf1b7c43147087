// `medsam prep` as a library call: datasets in, shards + index + manifest out (docs/data_format.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "data_prep/prep_config.h"

namespace medsam::prep {

struct PrepOptions {
  std::string output;   // folder for manifest.json, *.tar, *.idx
  int workers = 1;      // cases converted in parallel
  // workers is the default (all cores), not the user's: fewer when that many of the largest volume would
  // not fit in memory (prep_workers.h)
  bool workers_default = false;
  bool dry_run = false; // convert everything, write nothing, report what would be written
  bool overwrite = false;  // replace a folder prepared with a different config, or from since-changed inputs
  bool retry_skipped = false;  // convert the cases an earlier run skipped again, changed or not
  bool rebuild_changed = false;  // drop the shards of cases whose files changed, convert those cases again
};

struct PrepSummary {
  std::int64_t cases_total = 0, cases_converted = 0, cases_resumed = 0;
  std::int64_t cases_retried = 0;  // skipped by an earlier run, converted again by this one
  std::int64_t cases_rebuilt = 0;  // converted before, dropped with their shards (--rebuild-changed), converted again
  std::vector<std::pair<std::string, std::string>> skipped;  // case, reason
  std::map<std::string, std::int64_t> samples_by_split, objects_by_split, objects_by_modality;
  std::map<std::string, std::int64_t> objects_by_label;  // "<dataset>:<id> <name>"
  std::int64_t samples = 0, objects = 0, slices_dropped_by_gap = 0;
  std::int64_t tar_bytes = 0, index_bytes = 0, shards = 0;
  double seconds = 0;
  bool already_complete = false;
};

// Runs (or resumes) a prep. Bad cases are skipped with a logged reason; configuration and output
// folder problems throw (UsageError/Error).
PrepSummary run_prep(std::vector<PrepConfig> configs, const PrepOptions& options);

// Human-readable report of a summary (what `medsam prep` prints at the end).
std::string format_summary(const PrepSummary& s, bool dry_run);

}  // namespace medsam::prep

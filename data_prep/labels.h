// Label names and the per-dataset label mapping (merge, keep, drop) applied before cleanup.
#pragma once

#include <ATen/Tensor.h>

#include <map>
#include <string>
#include <vector>

namespace medsam::prep {

struct DatasetSection;

// Names from `label_names_file` ("<id> <name> ..." lines) and `label_names` ("id:name"); throws Error
// naming the file/entry when malformed.
std::map<int, std::string> load_label_names(const DatasetSection& d, const std::string& resolved_file);

// dataset.merge_labels' "from:to" entries (both integers) as from -> to; throws UsageError naming the entry
// that is not one, or that maps a label twice. PrepConfig::validate calls it, so a bad entry stops
// `medsam prep` before any case is read.
std::map<int, int> parse_label_merges(const std::vector<std::string>& entries);

// Applies merge_labels (all at once: 1:2 and 2:3 send 1 to 2, not on to 3), then keep_labels, then
// drop_labels to an integer label tensor (in place).
// ref: MedSAM pre_CT_MR.py remove_label_ids (gt[gt == id] = 0)
void map_labels(at::Tensor& labels, const DatasetSection& d);

}  // namespace medsam::prep

// Label names and the per-dataset label mapping (merge, keep, drop) applied before cleanup.
#pragma once

#include <ATen/Tensor.h>

#include <map>
#include <string>

namespace medsam::prep {

struct DatasetSection;

// Names from `label_names_file` ("<id> <name> ..." lines) and `label_names` ("id:name"); throws Error
// naming the file/entry when malformed.
std::map<int, std::string> load_label_names(const DatasetSection& d, const std::string& resolved_file);

// Applies merge_labels, then keep_labels, then drop_labels to an integer label tensor (in place).
// ref: MedSAM pre_CT_MR.py remove_label_ids (gt[gt == id] = 0)
void map_labels(at::Tensor& labels, const DatasetSection& d);

}  // namespace medsam::prep

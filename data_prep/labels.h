// Label names and the per-dataset label mapping (merge, keep, drop) applied before cleanup.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
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
// Then splits each of instance_labels into its connected components (26-connected in a volume,
// 8-connected in a 2D map): component k of n becomes max(other labels) + 1 + k, the reference's numbering
// (its first instance is max + 2: it adds cc3d's 1-based index to max + 1).
// ref: MedSAM pre_CT_MR.py tumor_id block (cc3d.connected_components(connectivity=26))
void map_labels(at::Tensor& labels, const DatasetSection& d);

// A label array of any dtype, as read, as int32 ids for map_labels. Throws Error naming `path` when
// values are NaN or infinite (with their count: a cast would make them 0, background), are not integers,
// or lie beyond any id (naming the value: an int64 4294967297 would wrap to 1). `non_finite_in_file`:
// NaN/infinite values the reader already turned into 0 (NIfTI: io::nifti_non_finite_count).
at::Tensor to_label_ids(const at::Tensor& raw, const std::string& path, std::int64_t non_finite_in_file = 0);

// Throws Error naming `path` and the value when an id (after map_labels) is outside 0..65535, the ids a
// 16-bit seg.png holds.
void check_label_range(const at::Tensor& labels, const std::string& path, const DatasetSection& d);

}  // namespace medsam::prep

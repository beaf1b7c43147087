// Per-sample weights that give each modality or dataset a configured share of an epoch
// (fine-tuning on a new modality while replaying old data in a chosen ratio).
#pragma once

#include <vector>

#include "medsam/core/config_data.h"

namespace medsam::data {

class TrainingDataset;

// Empty when config.by == "none" (uniform epochs). Otherwise one weight per dataset item: a group
// with ratio r_g and n_g items gets weight r_g / n_g per item, so the expected share of group g in
// an epoch is r_g / sum(r). Groups not listed get config.default_weight. Throws ConfigError for a
// malformed "group=ratio" entry, a group name this dataset does not know, or all-zero weights.
std::vector<double> group_weights(const TrainingDataset& dataset, const BalanceConfig& config);

}  // namespace medsam::data

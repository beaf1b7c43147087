// Train/val/test assignment without leakage. Documented in docs/data_format.md ("Splits").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "medsam/data/shard_format.h"

namespace medsam::prep {

// case mode: cases ordered by CRC-32 of "<dataset>/<case>" (stable whatever the folder order), then
// the first round(n*f_train) go to train, the next round(n*f_val) to val, the rest to test.
std::vector<data::Split> split_cases(const std::vector<std::string>& case_ids, const std::vector<double>& fractions);

// slice mode: slice positions are grouped into blocks of `block` consecutive slices; block b goes to
// the split whose cumulative fraction first exceeds frac((b + 1) * golden ratio) (a low-discrepancy
// sequence: splits interleave along the volume, each near its fraction). The first `gap` slices of a
// block whose split differs from the previous block's are dropped (nullopt), so no train slice is
// within `gap` slices of a val/test slice.
std::optional<data::Split> split_slice(std::int64_t slice, int block, int gap, const std::vector<double>& fractions);

}  // namespace medsam::prep

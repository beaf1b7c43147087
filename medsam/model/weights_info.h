// `medsam info`: what a checkpoint holds, in a few human-readable lines.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "medsam/model/weights.h"

namespace medsam {

struct CheckpointSummary {
  Checkpoint checkpoint;
  std::string arch_guess;                          // "" if unknown
  int input_size = 0;                              // > 0: the preset's layout at this other input size
  size_t tensor_count = 0;
  uint64_t value_count = 0;                        // total elements (parameters and buffers)
  std::map<std::string, int> dtypes;               // "float32" -> tensor count
  std::vector<std::pair<std::string, uint64_t>> per_module;  // top-level module -> elements, file order
  size_t broadcast_tensors = 0;                    // stored with a zero stride (expanded constants)
  bool compared = false;                           // arch known and its key set checked
  WeightsReport vs_arch;                           // names/shapes against build_sam(arch_guess)
  std::vector<std::string> training;               // e.g. "epoch: 3", "optimizer: 1 param group, lr 0.0001"
};

// Reads the file (Error when unreadable), guesses the arch, compares with that preset's key set.
CheckpointSummary summarize_checkpoint(const std::string& path);
// The report `medsam info` prints, one fact per line.
std::string format_summary(const CheckpointSummary& summary);

}  // namespace medsam

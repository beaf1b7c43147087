// `--profile FILE` of the model benches: one more run, after the timed ones, under PyTorch's Kineto
// profiler (CPU ops; CUDA kernels and copies on a GPU), written as a Chrome trace (chrome://tracing,
// ui.perfetto.dev). scripts/gpu/trace_summary.py sums a trace by kernel and by training phase
// (the trainer marks its phases as medsam::... scopes).
#pragma once

#include <functional>
#include <string>

namespace medsam::tools::bench {

// Runs `run` once under the profiler and writes the trace to `path` (atomically: a temporary file
// renamed into place). `cuda`: record CUDA activity too. `run` must end with a device synchronize.
void profile_once(const std::string& path, bool cuda, const std::function<void()>& run);

}  // namespace medsam::tools::bench

// How many cases prep converts at once when --workers is not given: all cores, unless converting that
// many of the largest volume at once would not fit in memory (a 512x512x1000 CT takes ~15 GB while it
// is converted: float64 intensity steps, int32 label copies, components).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace medsam::prep {

// Peak bytes while one volume case of `voxels` is converted: measured 58 B/voxel (256x256x300 int16 CT,
// RSS 1.31 GB; `/usr/bin/time -v medsam prep -j 1`), rounded up.
constexpr std::uint64_t kPrepBytesPerVoxel = 64;

// min(cores, available / per_case), at least 1.
int workers_within_memory(int cores, std::uint64_t available_bytes, std::uint64_t per_case_bytes);

struct WorkerChoice {
  int workers = 1;
  std::string reason;  // non-empty when fewer than `cores`: one line for the log
};

// The largest file among `volume_images` (by size on disk; folders skipped) gives the voxel count from
// its header. cores when nothing can be read.
WorkerChoice choose_prep_workers(int cores, const std::vector<std::string>& volume_images,
                                 std::optional<std::uint64_t> available_bytes);

}  // namespace medsam::prep

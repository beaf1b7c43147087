#include "data_prep/prep_workers.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "medsam/io/volume.h"

namespace medsam::prep {

int workers_within_memory(int cores, std::uint64_t available_bytes, std::uint64_t per_case_bytes) {
  if (per_case_bytes == 0) return std::max(1, cores);
  const std::uint64_t fit = available_bytes / per_case_bytes;
  return static_cast<int>(std::clamp<std::uint64_t>(fit, 1, static_cast<std::uint64_t>(std::max(1, cores))));
}

WorkerChoice choose_prep_workers(int cores, const std::vector<std::string>& volume_images,
                                 std::optional<std::uint64_t> available_bytes) {
  WorkerChoice choice{std::max(1, cores), {}};
  if (!available_bytes || volume_images.empty()) return choice;
  std::string largest;
  std::uintmax_t largest_size = 0;
  for (const auto& path : volume_images) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) continue;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > largest_size) {
      largest_size = size;
      largest = path;
    }
  }
  if (largest.empty()) return choice;
  const std::optional<std::int64_t> voxels = io::read_volume_voxel_count(largest);
  if (!voxels || *voxels <= 0) return choice;
  const std::uint64_t per_case = static_cast<std::uint64_t>(*voxels) * kPrepBytesPerVoxel;
  choice.workers = workers_within_memory(cores, *available_bytes, per_case);
  if (choice.workers < cores)
    choice.reason = fmt::format(
        "prep: {} worker(s), not {} (one per core): {:.1f} GiB of memory available and the largest volume, {} "
        "({} voxels), needs ~{:.1f} GiB while it is converted; -j/--workers N chooses",
        choice.workers, cores, *available_bytes / 1073741824.0, largest, *voxels, per_case / 1073741824.0);
  return choice;
}

}  // namespace medsam::prep

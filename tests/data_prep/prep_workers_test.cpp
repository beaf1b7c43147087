#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "data_prep/prep_workers.h"
#include "medsam/core/memory_available.h"
#include "medsam/io/volume.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"

using namespace medsam;

TEST_CASE("prep workers: as many cases at once as fit in memory, at least 1, at most the cores", "[data][prep]") {
  const std::uint64_t gib = std::uint64_t{1} << 30;
  CHECK(prep::workers_within_memory(32, 128 * gib, 15 * gib) == 8);
  CHECK(prep::workers_within_memory(4, 128 * gib, 2 * gib) == 4);
  CHECK(prep::workers_within_memory(8, 10 * gib, 15 * gib) == 1);  // one case still runs
  CHECK(prep::workers_within_memory(8, 10 * gib, 0) == 8);
}

TEST_CASE("prep workers: the largest volume's header sizes the cases, the reason names it", "[data][prep]") {
  MEDSAM_NEEDS_ITK("reads a NIfTI header");
  const std::string dir = test::temp_dir("prep_workers");
  io::Volume small, large;
  small.data = torch::zeros({4, 8, 8}, torch::kInt16);
  large.data = torch::zeros({16, 32, 32}, torch::kInt16);
  io::write_volume(dir + "/small.nii", small);
  io::write_volume(dir + "/large.nii", large);
  REQUIRE(io::read_volume_voxel_count(dir + "/large.nii") == 16 * 32 * 32);
  CHECK_FALSE(io::read_volume_voxel_count(dir).has_value());  // a folder (a DICOM series) is not sized

  const std::uint64_t per_case = 16 * 32 * 32 * prep::kPrepBytesPerVoxel;
  const auto tight = prep::choose_prep_workers(8, {dir + "/small.nii", dir + "/large.nii"}, 3 * per_case + 10);
  CHECK(tight.workers == 3);
  CHECK_THAT(tight.reason, Catch::Contains("3 worker(s), not 8") && Catch::Contains(dir + "/large.nii") &&
                               Catch::Contains("16384 voxels") && Catch::Contains("--workers"));
  const auto roomy = prep::choose_prep_workers(8, {dir + "/small.nii", dir + "/large.nii"}, 100 * per_case);
  CHECK(roomy.workers == 8);
  CHECK(roomy.reason.empty());
  CHECK(prep::choose_prep_workers(8, {}, 1).workers == 8);  // no volumes: 2D cases are small
  CHECK(prep::choose_prep_workers(8, {dir + "/large.nii"}, std::nullopt).workers == 8);
}

TEST_CASE("available memory: MemAvailable, lowered to the room under a cgroup limit", "[core]") {
  CHECK(parse_mem_available("MemTotal:  100 kB\nMemFree: 5 kB\nMemAvailable:   2048 kB\n") == 2048u * 1024);
  CHECK_FALSE(parse_mem_available("MemTotal: 100 kB\n").has_value());
  CHECK(cgroup_room("8589934592\n", "2147483648\n") == 6442450944u);
  CHECK_FALSE(cgroup_room("max\n", "100\n").has_value());
  CHECK_FALSE(cgroup_room("9223372036854771712\n", "100\n").has_value());  // cgroup v1's "no limit"
  CHECK(cgroup_room("100", "200") == 0u);
  const auto here = available_memory_bytes();  // this machine (Linux)
  REQUIRE(here.has_value());
  CHECK(*here > (std::uint64_t{64} << 20));
}

// Hidden benchmark (not run by default): time and peak memory of reading a full-size checkpoint.
//   /usr/bin/python3 -c "import torch; ..." to make one (see docs/checkpoints.md), then
//   MEDSAM_BENCH_PTH=/tmp/vit_b_random.pth ./build/bin/medsam_tests "[.bench]"
#include <catch2/catch.hpp>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "medsam/io/pth.h"

TEST_CASE("bench: read a full-size .pth (MEDSAM_BENCH_PTH)", "[.bench][io][pth]") {
  const char* path = std::getenv("MEDSAM_BENCH_PTH");
  if (!path) {
    WARN("set MEDSAM_BENCH_PTH to a checkpoint to run this benchmark");
    return;
  }
  auto rss_mb = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;
  };
  const double file_mb = double(std::filesystem::file_size(path)) / (1024.0 * 1024.0);
  const double before = rss_mb();
  const auto start = std::chrono::steady_clock::now();
  const medsam::NamedTensors sd = medsam::read_state_dict(path);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double peak = rss_mb();
  WARN("read " << path << " (" << file_mb << " MiB, " << sd.size() << " tensors) in " << secs << " s; peak RSS "
               << peak << " MiB (" << before << " before, +" << (peak - before) / file_mb << "x the file)");
  CHECK(!sd.empty());
}

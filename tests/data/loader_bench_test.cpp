// Loader throughput (hidden: run with `medsam_tests "[.bench]"` and MEDSAM_BENCH_DATA=<prepared dir>).
// Prints samples/s for S = 256 and 1024 with 1 and 2 workers (decode + resize + prompt + collate).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "medsam/data/dataset.h"
#include "medsam/data/loader.h"

using namespace medsam::data;

TEST_CASE("loader throughput", "[.bench]") {
  const char* dir = std::getenv("MEDSAM_BENCH_DATA");
  if (!dir) {
    WARN("set MEDSAM_BENCH_DATA to a prepared dataset folder");
    return;
  }
  const TrainingDataset ds(dir, "train");
  for (int size : {256, 1024}) {
    for (int workers : {1, 2}) {
      DataConfig cfg;
      cfg.shards = dir;
      cfg.image_size = size;
      cfg.num_workers = workers;
      cfg.batch_size = 8;
      SamplerOptions opts;
      opts.seed = 1;
      const DistributedSampler sampler(static_cast<std::int64_t>(ds.size()), opts);
      Loader loader(ds, sampler, cfg);
      std::int64_t samples = 0;
      const auto t0 = std::chrono::steady_clock::now();
      for (std::int64_t epoch = 0; samples < 400; ++epoch) {
        loader.start(sampler.start_of(epoch));
        while (auto b = loader.next()) samples += b->num_images();
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::cout << "loader S=" << size << " workers=" << workers << " stored=" << ds.manifest().image_size << ": "
                << samples / s << " samples/s (" << samples << " samples)\n";
    }
  }
}

// `medsam bench loader` and `medsam bench index` run end to end on small inputs and report what they
// measured (the real measurements are in docs/benchmarks.md).
#include <catch2/catch.hpp>

#include <regex>

#include "tests/data/synthetic_shards.h"
#include "tests/support/run_command.h"

using namespace medsam;

TEST_CASE("bench loader reports samples/s for each size and worker count", "[data][loader][cli]") {
  const auto dir = test::temp_dir("bench_loader");
  test::write_synthetic(dir, {{"a", data::Modality::kCt, 12}});
  const auto r = test::run_medsam("bench loader --data " + dir +
                                  " --workers 0 --workers 2 --image-size 32 --image-size 64 --samples 24 --batch 4 "
                                  "--augment --points");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("12 samples, stored 64x64"));
  for (const char* run : {"S=32 stored=64 workers=0", "S=32 stored=64 workers=2", "S=64 stored=64 workers=0",
                          "S=64 stored=64 workers=2"})
    CHECK_THAT(r.out, Catch::Contains(run));
  // At least the requested 24 samples were timed in each of the 4 runs.
  const std::regex timed("samples/s \\([0-9.]+ per worker; ([0-9]+) samples in");
  int runs = 0;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), timed); it != std::sregex_iterator(); ++it, ++runs)
    CHECK(std::stoi((*it)[1]) >= 24);
  CHECK(runs == 4);
  CHECK(test::run_medsam("bench loader --data " + dir + "/nope").exit_code == 1);
}

TEST_CASE("bench index writes, loads and opens a synthetic index of the asked size", "[data][shard][cli]") {
  const auto dir = test::temp_dir("bench_index");
  const auto r = test::run_medsam("bench index --samples 5000 --per-shard 1200 --objects 2 --dir " + dir + "/idx");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("wrote 5 shards, 5000 samples x 2 object(s)"));
  // 48 B per sample + 2 x 16 B per object + a few case names
  CHECK_THAT(r.out, Catch::Contains("index memory 0.4 MB (80."));
  CHECK_THAT(r.out, Catch::Contains("TrainingDataset open:") && Catch::Contains("for 5000 samples (5 shards)"));
}

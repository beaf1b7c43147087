// Real multi-process Gloo jobs on localhost: 2 and 3 ranks of this very executable.
#include <catch2/catch.hpp>

#include "tests/dist/dist_workers.h"

using medsam::test::run_dist_workers;

TEST_CASE("gloo collectives: all-reduce of known tensors, broadcast makes parameters equal", "[dist][gloo]") {
  for (int n : {2, 3}) {
    const auto run = run_dist_workers(n, "collectives");
    INFO(run.logs);
    CHECK(run.outcome.exit_code == 0);
  }
}

TEST_CASE("bucketed reducer gives each rank the single-process gradient of the full batch", "[dist][gloo]") {
  for (int n : {2, 3}) {
    const auto run = run_dist_workers(n, "reducer");
    INFO(run.logs);
    CHECK(run.outcome.exit_code == 0);
  }
}

TEST_CASE("a rank that dies makes the others fail at once instead of hanging", "[dist][gloo]") {
  // The last rank _exits with 3 after joining; the others are in an all-reduce loop with a 20 s timeout.
  // Gloo sees the closed connection: they must exit 7 ("collective failed") long before the timeout.
  const auto run = run_dist_workers(3, "die", {{"MEDSAM_DIST_TEST_TIMEOUT_MS", "20000"}}, /*stop_all=*/false);
  INFO(run.logs);
  CHECK(run.code(2) == 3);
  CHECK(run.code(0) == 7);
  CHECK(run.code(1) == 7);
  CHECK(run.seconds < 10);
}

TEST_CASE("a rank that hangs makes the others fail after the timeout", "[dist][gloo]") {
  // The last rank sleeps for a minute; with a 4 s timeout rank 0 fails its all-reduce, exits 7, and the
  // launcher then stops the sleeper (SIGTERM).
  const auto run = run_dist_workers(2, "hang", {{"MEDSAM_DIST_TEST_TIMEOUT_MS", "4000"}});
  INFO(run.logs);
  CHECK(run.code(0) == 7);
  CHECK(run.outcome.first_failed_rank == 0);
  CHECK(run.outcome.exit_code == 7);
  CHECK(run.seconds < 15);
}

TEST_CASE("a rank whose data runs out a batch early: every rank ends after the same step, none waits for the "
          "timeout", "[dist][gloo]") {
  const auto run = run_dist_workers(2, "uneven_data", {{"MEDSAM_DIST_TEST_TIMEOUT_MS", "30000"}});
  INFO(run.logs);
  CHECK(run.outcome.exit_code == 0);
  CHECK_THAT(run.logs, Catch::Contains("rank 0: trained 2 steps") && Catch::Contains("rank 1: trained 2 steps"));
  CHECK(run.seconds < 25);
}

TEST_CASE("ranks that resumed at different steps all stop with an error naming the shared folder rule",
          "[dist][gloo]") {
  const auto run = run_dist_workers(2, "different_start");
  INFO(run.logs);
  CHECK(run.outcome.exit_code == 0);
  CHECK_THAT(run.logs, Catch::Contains("rank 0: refused") && Catch::Contains("rank 1: refused"));
}

TEST_CASE("a rank that reaches another job's store stops at once naming both jobs", "[dist][gloo]") {
  // The launcher names its run (MEDSAM_RUN_ID); the test fixes it so that rank 1 can expect it.
  const auto run = run_dist_workers(2, "foreign_rank",
                                    {{"MEDSAM_DIST_TEST_TIMEOUT_MS", "4000"}, {"MEDSAM_RUN_ID", "job-a"},
                                     {"TEST_PARENT_RUN_ID", "job-a"}});
  INFO(run.logs);
  CHECK(run.outcome.exit_code == 0);
  CHECK_THAT(run.logs, Catch::Contains("rank 1: refused") && Catch::Contains("rank 0: gave up"));
}

// Manual: ./medsam_tests "[.dist_bench]" prints all-reduce timings of 25 MB and 375 MB between 2 ranks.
TEST_CASE("gloo all-reduce timings between 2 local processes", "[.dist_bench]") {
  const auto run = run_dist_workers(2, "bench");
  WARN(run.logs);
  CHECK(run.outcome.exit_code == 0);
}

// Runs N copies of this test executable as ranks of a Gloo job on localhost, each running the hidden
// test case "dist worker" with MEDSAM_DIST_SCENARIO=<scenario> (see gloo_worker_test.cpp).
#pragma once

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "medsam/dist/launcher.h"
#include "tests/support/run_command.h"

namespace medsam::test {

struct WorkerRun {
  dist::LaunchOutcome outcome;
  double seconds = 0;
  std::string logs;  // every rank's output, for failure messages
  int code(int rank) const { return outcome.ranks.at(rank).signal ? 128 + outcome.ranks.at(rank).signal
                                                                    : outcome.ranks.at(rank).exit_code; }
};

inline WorkerRun run_dist_workers(int nproc, const std::string& scenario, std::map<std::string, std::string> env = {},
                                  bool stop_all_on_failure = true) {
  const std::string dir = temp_dir(fmt::format("dist_{}_{}", scenario, nproc));
  dist::LaunchSpec spec;
  spec.command = {std::filesystem::read_symlink("/proc/self/exe").string(), "dist worker"};
  spec.nproc_per_node = nproc;
  spec.log_dir = dir;
  spec.echo = false;
  spec.stop_all_on_failure = stop_all_on_failure;
  spec.grace = std::chrono::seconds(5);
  spec.env = std::move(env);
  spec.env["MEDSAM_DIST_SCENARIO"] = scenario;
  spec.env["GLOO_SOCKET_IFNAME"] = "lo";  // loopback only
  spec.env["OMP_NUM_THREADS"] = "1";
  const auto start = std::chrono::steady_clock::now();
  WorkerRun run;
  run.outcome = dist::launch_local(spec);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int r = 0; r < nproc; ++r) {
    std::ifstream in(std::filesystem::path(dir) / fmt::format("rank_{}.log", r));
    std::stringstream ss;
    ss << in.rdbuf();
    run.logs += fmt::format("---- rank {} (exit {}) ----\n{}\n", r, run.code(r), ss.str());
  }
  return run;
}

}  // namespace medsam::test

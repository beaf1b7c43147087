// Starting the local ranks of a job: what torchrun's agent does for one node, without elasticity.
// Each rank gets the torchrun variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK,
// MASTER_ADDR, MASTER_PORT), its own process group, and its output prefixed with "[rank r] ".
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace medsam::dist {

struct LaunchSpec {
  std::vector<std::string> command;  // program (looked up in PATH when it has no '/') and its arguments
  int nproc_per_node = 1;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;         // 0: pick a free port (one node only)
  std::string log_dir;         // non-empty: also write each rank's output to <log_dir>/rank_<r>.log
  bool echo = true;            // copy each rank's stdout/stderr to ours, lines prefixed "[rank r] "
  bool stop_all_on_failure = true;  // a rank that fails (non-zero exit, signal) stops the others
  // After SIGTERM (forwarded, or sent because a rank failed), how long ranks get before SIGKILL.
  std::chrono::milliseconds grace = std::chrono::seconds(30);
  std::map<std::string, std::string> env;  // extra variables for every rank (win over ours)
  int omp_threads = 0;  // > 0: OMP_NUM_THREADS for the ranks, unless already set
};

struct RankOutcome {
  int rank = 0;
  int pid = 0;
  int exit_code = 0;  // valid when signal == 0
  int signal = 0;     // the signal that killed it, or 0
  double seconds = 0;
  // Exited with kExitStopped: stopped by a signal after saving its work (medsam train), not a failure.
  bool stopped() const;
  bool failed() const { return signal != 0 || (exit_code != 0 && !stopped()); }
};

struct LaunchOutcome {
  // 0; kExitStopped (75) when ranks stopped after saving their work and none failed; else 128 + a signal
  // we got; else the first failed rank's code (128 + signal if killed).
  int exit_code = 0;
  int first_failed_rank = -1;  // global rank, -1 if none failed
  int received_signal = 0;     // SIGINT/SIGTERM/SIGHUP that made us stop the ranks
  std::vector<RankOutcome> ranks;
};

// Runs the local ranks to completion. SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 sent to this process
// are forwarded to every rank (the first three then stop the job, SIGKILL after `grace`). Throws
// UsageError for a bad spec, Error when a process cannot be started.
LaunchOutcome launch_local(const LaunchSpec& spec);

// A TCP port that was free a moment ago (bind to port 0, read it, close).
int find_free_port();

}  // namespace medsam::dist

// `medsam launch`: start the local ranks of a distributed job (torchrun's job, for one node of many).
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "medsam/dist/launcher.h"
#include "tools/cli_checks.h"
#include "tools/command.h"

namespace medsam::tools {

namespace {

struct LaunchOptions {
  dist::LaunchSpec spec;
  double grace_s = 30;
};

// `-- medsam train ...` and `-- train ...` (any subcommand of this executable: `subcommands`) run this very
// executable; anything else is run as given.
void resolve_medsam(dist::LaunchSpec& spec, const std::vector<std::string>& subcommands) {
  auto& cmd = spec.command;
  const bool named = cmd.front() == "medsam";
  const bool sub = std::find(subcommands.begin(), subcommands.end(), cmd.front()) != subcommands.end();
  if (!named && !sub) return;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (named) cmd.erase(cmd.begin());
  cmd.insert(cmd.begin(), ec ? std::string("medsam") : self.string());
  // N ranks share this node's cores: give each its share unless the command says otherwise.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int share = std::max(1, cores / spec.nproc_per_node);
  const bool has_threads = std::any_of(cmd.begin(), cmd.end(), [](const std::string& a) {
    return a == "--threads" || a.rfind("--threads=", 0) == 0;
  });
  if (!has_threads) {
    cmd.insert(cmd.begin() + 1, {"--threads", std::to_string(share)});
  }
  spec.omp_threads = share;
}

}  // namespace

RunFn add_launch_command(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "launch", "Start N local training processes with a rendezvous (Gloo/NCCL), like torchrun");
  sub->footer(
      "Example: medsam launch --nproc-per-node 4 -- train --config configs/train/medsam_vit_b.yaml\n"
      "Each rank gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT.\n"
      "Signals (INT, TERM, HUP, USR1, USR2) are forwarded; if one rank fails the others get SIGTERM,\n"
      "then SIGKILL after --grace seconds, and launch exits with the failed rank's code. Ranks that\n"
      "exit 75 (medsam train stopped by a signal after its checkpoint) have not failed: launch exits 75.\n"
      "See docs/distributed.md.");
  auto opts = std::make_shared<LaunchOptions>();
  auto& s = opts->spec;
  sub->add_option("--nproc-per-node,--nproc", s.nproc_per_node, "Processes on this node (one per GPU)")
      ->capture_default_str()->check(at_least_one());
  sub->add_option("--nnodes", s.nnodes, "Number of nodes")->capture_default_str()->check(at_least_one());
  sub->add_option("--node-rank", s.node_rank, "Index of this node")->capture_default_str()->check(CLI::NonNegativeNumber);
  // Not given, an exported MASTER_ADDR / MASTER_PORT (as Slurm scripts set them) stands in (CLI11's envname).
  sub->add_option("--master-addr", s.master_addr, "Host of global rank 0 (runs the TCPStore)")
      ->envname("MASTER_ADDR")
      ->capture_default_str();
  sub->add_option("--master-port", s.master_port, "TCPStore port (0: pick a free one; required with --nnodes > 1)")
      ->envname("MASTER_PORT")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  sub->add_option("--log-dir", s.log_dir, "Also write each rank's output to DIR/rank_<r>.log");
  sub->add_option("--grace", opts->grace_s, "Seconds between SIGTERM and SIGKILL when stopping ranks")
      ->capture_default_str()->check(finite_in(0, 86400));
  sub->add_option("command", s.command, "After --: the command each rank runs ('train ...', 'medsam train ...' or any program)")
      ->required();
  return [opts, sub]() {
    dist::LaunchSpec spec = opts->spec;
    spec.grace = std::chrono::milliseconds(static_cast<long long>(opts->grace_s * 1000));
    // The subcommands registered on `medsam` (all of them by now: this runs after parsing).
    std::vector<std::string> subcommands;
    for (const CLI::App* command : sub->get_parent()->get_subcommands({})) subcommands.push_back(command->get_name());
    resolve_medsam(spec, subcommands);
    return dist::launch_local(spec).exit_code;
  };
}

}  // namespace medsam::tools

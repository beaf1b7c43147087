// Who am I in the job, and where is rank 0's store? Read from the launcher's environment:
// torchrun (or `medsam launch`), Slurm (srun), OpenMPI (mpirun), or explicit flags. No I/O here: the
// store and process group are created from the result by process_group.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "medsam/dist/env.h"

namespace medsam::dist {

enum class LaunchSource { kSingle, kFlags, kTorchrun, kSlurm, kOpenMpi };

const char* to_string(LaunchSource source);

struct Rendezvous {
  LaunchSource source = LaunchSource::kSingle;
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;        // index of this process on its node: selects the GPU
  int local_world_size = 1;  // processes on this node
  int node_rank = 0;
  std::string master_addr;   // host of the TCPStore (rank 0, or torchrun's agent)
  int master_port = 0;
  // torchrun with TORCHELASTIC_USE_AGENT_STORE=True: the agent already hosts the store, so every rank
  // (rank 0 included) is a client, and keys live under /worker/attempt_<restart_count>.
  bool agent_store = false;
  int restart_count = 0;
  // The job this process belongs to, as its launcher names it ("medsam launch launch-1a2b-..", "torchrun
  // run X", "slurm job 123 step 0", "openmpi job 7"), "" when none does. Ranks compare it (with the world
  // size) through the store, so that a rank reaching another job's store on a shared port stops at once.
  std::string job;
  // Things the caller should log (e.g. Slurm variables seen outside an srun step).
  std::vector<std::string> warnings;

  bool distributed() const { return world_size > 1; }
  // "/worker/attempt_<n>" with an agent store, "" otherwise.
  std::string store_prefix() const;
  // One line for logs: "torchrun: rank 3/8 (local 1/4, node 1), store 10.0.0.1:29500".
  std::string describe() const;
};

// Values given on the command line; each one overrides what the environment says.
struct RendezvousFlags {
  std::optional<int> rank;
  std::optional<int> world_size;
  std::optional<int> local_rank;
  std::optional<std::string> master_addr;
  std::optional<int> master_port;
};

// Precedence, innermost launcher first: flags (--rank and --world-size), then torchrun variables (RANK +
// WORLD_SIZE), then OpenMPI (OMPI_COMM_WORLD_RANK + OMPI_COMM_WORLD_SIZE), then an srun step
// (SLURM_PROCID + SLURM_STEP_ID; SLURM_STEP_NUM_TASKS, SLURM_STEP_NODELIST and SLURM_STEP_TASKS_PER_NODE
// before their job-wide forms), else a single process (with a warning when Slurm variables say more
// tasks). Throws UsageError naming the variable or flag that is missing or malformed.
Rendezvous resolve_rendezvous(const EnvLookup& env, const RendezvousFlags& flags = {});

// The first host of a Slurm node list: "gpu[01-04,07],cpu3" -> "gpu01".
std::string first_slurm_host(const std::string& nodelist);

// Tasks on node `node_id` from SLURM_TASKS_PER_NODE syntax: "4(x2),3" is 4,4,3. nullopt if malformed.
std::optional<int> slurm_tasks_on_node(const std::string& tasks_per_node, int node_id);

}  // namespace medsam::dist

#include "medsam/dist/rendezvous.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <vector>

#include "medsam/core/error.h"

namespace medsam::dist {

namespace {

// How one launcher names the variables we need; `master_hint` says how to pass the store address.
struct Dialect {
  LaunchSource source;
  const char* rank;
  const char* world_size;
  const char* local_rank;
  const char* local_world_size;
  const char* master_hint;
};

constexpr Dialect kTorchrun{LaunchSource::kTorchrun, "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE",
                            "torchrun and `medsam launch` set it"};
constexpr Dialect kOpenMpi{LaunchSource::kOpenMpi, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                           "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE",
                           "pass it with mpirun -x"};

std::optional<int> parse_int(const std::string& text) {
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

// An integer variable: nullopt when unset, UsageError naming it when set but not an integer.
std::optional<int> env_int(const EnvLookup& env, const std::string& name) {
  auto text = env(name);
  if (!text) return std::nullopt;
  auto value = parse_int(*text);
  if (!value) throw UsageError(fmt::format("{}='{}' is not an integer", name, *text));
  return value;
}

int require_int(const EnvLookup& env, const std::string& name, const std::string& why) {
  auto value = env_int(env, name);
  if (!value) throw UsageError(why.empty() ? fmt::format("{} is not set", name)
                                           : fmt::format("{} is not set ({})", name, why));
  return *value;
}

void validate(const Rendezvous& r) {
  const std::string who = to_string(r.source);
  if (r.world_size < 1) throw UsageError(fmt::format("{}: world size {} must be at least 1", who, r.world_size));
  if (r.rank < 0 || r.rank >= r.world_size)
    throw UsageError(fmt::format("{}: rank {} is outside [0, {})", who, r.rank, r.world_size));
  if (r.local_world_size < 1 || r.local_rank < 0 || r.local_rank >= r.local_world_size)
    throw UsageError(fmt::format("{}: local rank {} is outside [0, {})", who, r.local_rank, r.local_world_size));
  if (r.distributed() || r.agent_store) {
    if (r.master_addr.empty()) throw UsageError(fmt::format("{}: MASTER_ADDR is empty", who));
    if (r.master_port < 1 || r.master_port > 65535)
      throw UsageError(fmt::format("{}: master port {} is outside 1..65535", who, r.master_port));
  }
}

// MASTER_ADDR / MASTER_PORT, required for a distributed job.
void read_master(const EnvLookup& env, Rendezvous& r, const std::string& hint) {
  if (!r.distributed()) return;
  auto addr = env("MASTER_ADDR");
  if (!addr)
    throw UsageError(fmt::format("{} launch of {} processes but MASTER_ADDR is not set ({}: the host of rank 0)",
                                 to_string(r.source), r.world_size, hint));
  r.master_addr = *addr;
  r.master_port = require_int(env, "MASTER_PORT",
                              fmt::format("{} launch of {} processes: a free TCP port on {}, {}",
                                          to_string(r.source), r.world_size, r.master_addr, hint));
}

// ref: torch/distributed/rendezvous.py _env_rendezvous_handler (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)
// and torch/distributed/elastic/agent/server/api.py (LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK).
Rendezvous from_dialect(const EnvLookup& env, const Dialect& d) {
  Rendezvous r;
  r.source = d.source;
  r.rank = require_int(env, d.rank,
                       fmt::format("{} is set, so this looks like a {} launch", d.world_size, to_string(d.source)));
  r.world_size = require_int(env, d.world_size,
                             fmt::format("{} is set, so this looks like a {} launch", d.rank, to_string(d.source)));
  // Without local variables, assume one node (a hand-written environment).
  r.local_rank = env_int(env, d.local_rank).value_or(r.rank);
  r.local_world_size = env_int(env, d.local_world_size).value_or(r.world_size);
  if (d.source == LaunchSource::kTorchrun) r.node_rank = env_int(env, "GROUP_RANK").value_or(0);
  if (d.source == LaunchSource::kOpenMpi) r.node_rank = env_int(env, "OMPI_COMM_WORLD_NODE_RANK").value_or(0);
  read_master(env, r, d.master_hint);
  return r;
}

Rendezvous from_torchrun(const EnvLookup& env) {
  Rendezvous r = from_dialect(env, kTorchrun);
  // ref: torch/distributed/rendezvous.py _torchelastic_use_agent_store / _create_c10d_store
  auto agent = env("TORCHELASTIC_USE_AGENT_STORE");
  if (agent && *agent == "True") {
    r.agent_store = true;
    r.restart_count = require_int(env, "TORCHELASTIC_RESTART_COUNT",
                                  "TORCHELASTIC_USE_AGENT_STORE=True: it names the store prefix /worker/attempt_<n>");
    if (r.master_addr.empty()) {  // world size 1 under torchrun still talks to the agent's store
      r.master_addr = env("MASTER_ADDR").value_or("");
      r.master_port = env_int(env, "MASTER_PORT").value_or(0);
    }
  }
  return r;
}

// Whether this process is a task of an srun job step. The batch script of sbatch, and a salloc shell, also
// have SLURM_PROCID=0 and SLURM_NTASKS=N (the allocation's tasks) without being one of N processes: only a
// step has SLURM_STEP_ID (srun sets it, with SLURM_STEP_NUM_TASKS and SLURM_STEP_NODELIST).
bool in_srun_step(const EnvLookup& env) { return env("SLURM_STEP_ID") || env("SLURM_STEPID"); }

// The step's value of a variable when srun set one (SLURM_STEP_NODELIST for SLURM_JOB_NODELIST, ...): a
// step may run on part of the allocation (srun -N2 in a 4-node job), and its rank 0 is on the step's
// first node, not the job's.
std::optional<std::string> step_or_job(const EnvLookup& env, const char* step_name, const char* job_name,
                                       const char* old_name = nullptr) {
  if (auto v = env(step_name)) return v;
  if (auto v = env(job_name)) return v;
  return old_name ? env(old_name) : std::nullopt;
}

// ref: lightning/fabric/plugins/environments/slurm.py SLURMEnvironment (main_address: first host of the
// node list; main_port: 15000 + the last 4 digits of the job id), so that srun alone is enough.
Rendezvous from_slurm(const EnvLookup& env) {
  Rendezvous r;
  r.source = LaunchSource::kSlurm;
  r.rank = require_int(env, "SLURM_PROCID", "");
  if (env("SLURM_STEP_NUM_TASKS"))
    r.world_size = require_int(env, "SLURM_STEP_NUM_TASKS", "");
  else
    r.world_size = require_int(env, "SLURM_NTASKS", "SLURM_PROCID is set, so this looks like an srun launch");
  r.local_rank = env_int(env, "SLURM_LOCALID").value_or(0);
  r.node_rank = env_int(env, "SLURM_NODEID").value_or(0);
  std::optional<int> local_size;
  if (auto tasks = step_or_job(env, "SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"))
    local_size = slurm_tasks_on_node(*tasks, r.node_rank);
  if (!local_size) local_size = env_int(env, "SLURM_NTASKS_PER_NODE");
  r.local_world_size = local_size.value_or(r.local_rank + 1);
  if (!r.distributed()) return r;

  if (auto addr = env("MASTER_ADDR")) {
    r.master_addr = *addr;
  } else {
    const std::optional<std::string> nodes = step_or_job(env, "SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST");
    if (!nodes)
      throw UsageError("slurm launch: neither MASTER_ADDR nor SLURM_STEP_NODELIST/SLURM_JOB_NODELIST is set (export "
                       "MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1) in the sbatch script)");
    r.master_addr = first_slurm_host(*nodes);
  }
  if (auto port = env_int(env, "MASTER_PORT")) {
    r.master_port = *port;
  } else if (auto job = env("SLURM_JOB_ID")) {
    const std::string tail = job->size() > 4 ? job->substr(job->size() - 4) : *job;
    auto digits = parse_int(tail);
    if (!digits) throw UsageError(fmt::format("SLURM_JOB_ID='{}' is not a number; set MASTER_PORT", *job));
    r.master_port = 15000 + *digits;
  } else {
    throw UsageError("slurm launch: neither MASTER_PORT nor SLURM_JOB_ID is set (export MASTER_PORT in the sbatch script)");
  }
  return r;
}

void apply_flags(const EnvLookup& env, const RendezvousFlags& f, Rendezvous& r) {
  if (f.rank || f.world_size) {
    if (!f.rank) throw UsageError("--world-size was given without --rank");
    if (!f.world_size) throw UsageError("--rank was given without --world-size");
    r = Rendezvous{};
    r.source = LaunchSource::kFlags;
    r.rank = *f.rank;
    r.world_size = *f.world_size;
    r.local_rank = f.local_rank.value_or(r.rank);
    r.local_world_size = f.local_rank ? std::max(*f.local_rank + 1, 1) : r.world_size;
    if (r.distributed()) {
      r.master_addr = f.master_addr ? *f.master_addr : env("MASTER_ADDR").value_or("");
      if (r.master_addr.empty())
        throw UsageError("--rank/--world-size given but neither --master-addr nor MASTER_ADDR is set");
      auto port = f.master_port ? f.master_port : env_int(env, "MASTER_PORT");
      if (!port) throw UsageError("--rank/--world-size given but neither --master-port nor MASTER_PORT is set");
      r.master_port = *port;
    }
    return;
  }
  if (f.local_rank) r.local_rank = *f.local_rank;
  if (f.master_addr) r.master_addr = *f.master_addr;
  if (f.master_port) r.master_port = *f.master_port;
}

// ref: none upstream (torch's TCPStore lets any client in); the ids are the launchers' own: MEDSAM_RUN_ID
// (medsam launch, one node; or exported by hand on every node), TORCHELASTIC_RUN_ID (torchrun --rdzv-id,
// "none" by default), SLURM_JOB_ID + SLURM_STEP_ID, OpenMPI's job id.
std::string job_identity(const EnvLookup& env) {
  auto set = [&](const char* name) -> std::optional<std::string> {
    auto v = env(name);
    if (v && !v->empty()) return v;
    return std::nullopt;
  };
  if (auto id = set("MEDSAM_RUN_ID")) return "run " + *id;
  if (auto id = set("TORCHELASTIC_RUN_ID"); id && *id != "none") return "torchrun run " + *id;
  if (auto id = set("SLURM_JOB_ID")) {
    std::string job = "slurm job " + *id;
    if (auto step = set("SLURM_STEP_ID")) job += " step " + *step;
    return job;
  }
  if (auto id = set("OMPI_MCA_ess_base_jobid")) return "openmpi job " + *id;
  return {};
}

}  // namespace

const char* to_string(LaunchSource source) {
  switch (source) {
    case LaunchSource::kSingle: return "single process";
    case LaunchSource::kFlags: return "flags";
    case LaunchSource::kTorchrun: return "torchrun";
    case LaunchSource::kSlurm: return "slurm";
    case LaunchSource::kOpenMpi: return "openmpi";
  }
  return "?";
}

std::string Rendezvous::store_prefix() const {
  return agent_store ? fmt::format("/worker/attempt_{}", restart_count) : std::string();
}

std::string Rendezvous::describe() const {
  std::string line = fmt::format("{}: rank {}/{} (local {}/{}, node {})", to_string(source), rank, world_size,
                                 local_rank, local_world_size, node_rank);
  if (!master_addr.empty()) line += fmt::format(", store {}:{}", master_addr, master_port);
  if (agent_store) line += fmt::format(" (torchelastic agent, {})", store_prefix());
  if (!job.empty()) line += ", " + job;
  return line;
}

Rendezvous resolve_rendezvous(const EnvLookup& env, const RendezvousFlags& flags) {
  Rendezvous r;
  // The innermost launcher wins: torchrun or mpirun started inside a Slurm allocation sees Slurm's
  // variables too, and they describe the allocation, not this process.
  if (env("RANK") || env("WORLD_SIZE")) {
    r = from_torchrun(env);
  } else if (env("OMPI_COMM_WORLD_RANK") || env("OMPI_COMM_WORLD_SIZE")) {
    r = from_dialect(env, kOpenMpi);
  } else if (env("SLURM_PROCID") && in_srun_step(env)) {
    r = from_slurm(env);
  } else if (env("SLURM_PROCID")) {
    // The sbatch script or a salloc shell itself: one process, whatever SLURM_NTASKS says.
    const auto tasks = env("SLURM_NTASKS");
    if (tasks && *tasks != "1")
      r.warnings.push_back(fmt::format(
          "SLURM_NTASKS={} but this process was not started by srun (no SLURM_STEP_ID): it runs as a single "
          "process; start it with `srun medsam ...` to run one process per task",
          *tasks));
  }
  apply_flags(env, flags, r);
  validate(r);
  r.job = job_identity(env);
  return r;
}

std::string first_slurm_host(const std::string& nodelist) {
  // ref: slurm hostlist syntax (scontrol show hostnames): comma-separated hosts, each with optional
  // bracketed ranges; the first host takes the first value of every bracket.
  std::string host;
  int depth = 0;
  for (size_t i = 0; i < nodelist.size(); ++i) {
    const char c = nodelist[i];
    if (c == ',' && depth == 0) break;
    if (c == '[') {
      const size_t close = nodelist.find(']', i);
      if (close == std::string::npos) throw UsageError(fmt::format("malformed Slurm node list '{}'", nodelist));
      const std::string inside = nodelist.substr(i + 1, close - i - 1);
      host += inside.substr(0, inside.find_first_of(",-"));
      i = close;
      continue;
    }
    host += c;
  }
  if (host.empty()) throw UsageError(fmt::format("malformed Slurm node list '{}'", nodelist));
  return host;
}

std::optional<int> slurm_tasks_on_node(const std::string& tasks_per_node, int node_id) {
  // "4(x2),3" -> nodes 0,1 run 4 tasks, node 2 runs 3.
  int node = 0;
  size_t pos = 0;
  while (pos < tasks_per_node.size()) {
    size_t end = tasks_per_node.find(',', pos);
    if (end == std::string::npos) end = tasks_per_node.size();
    const std::string item = tasks_per_node.substr(pos, end - pos);
    const size_t paren = item.find("(x");
    auto count = parse_int(item.substr(0, paren));
    int repeat = 1;
    if (paren != std::string::npos) {
      if (item.back() != ')') return std::nullopt;
      auto r = parse_int(item.substr(paren + 2, item.size() - paren - 3));
      if (!r) return std::nullopt;
      repeat = *r;
    }
    if (!count) return std::nullopt;
    if (node_id < node + repeat) return count;
    node += repeat;
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace medsam::dist

// Rendezvous from each launcher's environment, on fake environments (the real one is not touched).
#include <catch2/catch.hpp>

#include <cstdlib>

#include "medsam/core/error.h"
#include "medsam/dist/rendezvous.h"

using medsam::UsageError;
using namespace medsam::dist;

namespace {
Rendezvous resolve(std::map<std::string, std::string> vars, const RendezvousFlags& flags = {}) {
  return resolve_rendezvous(map_env(std::move(vars)), flags);
}
}  // namespace

TEST_CASE("no launcher variables means a single process", "[dist][rendezvous]") {
  const auto r = resolve({{"HOME", "/root"}});
  CHECK(r.source == LaunchSource::kSingle);
  CHECK(r.rank == 0);
  CHECK(r.world_size == 1);
  CHECK_FALSE(r.distributed());
}

TEST_CASE("torchrun variables give rank, local rank, node and store address", "[dist][rendezvous]") {
  const auto r = resolve({{"RANK", "5"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "4"},
                          {"GROUP_RANK", "1"}, {"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "29500"}});
  CHECK(r.source == LaunchSource::kTorchrun);
  CHECK(r.rank == 5);
  CHECK(r.world_size == 8);
  CHECK(r.local_rank == 1);
  CHECK(r.local_world_size == 4);
  CHECK(r.node_rank == 1);
  CHECK(r.master_addr == "10.0.0.1");
  CHECK(r.master_port == 29500);
  CHECK_FALSE(r.agent_store);
  CHECK(r.store_prefix().empty());
  CHECK(r.describe() == "torchrun: rank 5/8 (local 1/4, node 1), store 10.0.0.1:29500");
}

TEST_CASE("torchrun's agent store makes every rank a client under /worker/attempt_<restart>", "[dist][rendezvous]") {
  const auto r = resolve({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1234"},
                          {"TORCHELASTIC_USE_AGENT_STORE", "True"}, {"TORCHELASTIC_RESTART_COUNT", "3"}});
  CHECK(r.agent_store);
  CHECK(r.restart_count == 3);
  CHECK(r.store_prefix() == "/worker/attempt_3");
  // torch compares with str(True): anything else is not the agent store.
  CHECK_FALSE(resolve({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"},
                       {"TORCHELASTIC_USE_AGENT_STORE", "true"}})
                  .agent_store);
}

TEST_CASE("agent store without TORCHELASTIC_RESTART_COUNT names the variable", "[dist][rendezvous]") {
  CHECK_THROWS_WITH(resolve({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"},
                             {"TORCHELASTIC_USE_AGENT_STORE", "True"}}),
                    Catch::Contains("TORCHELASTIC_RESTART_COUNT is not set"));
}

TEST_CASE("a torchrun launch without its store address names the missing variable", "[dist][rendezvous]") {
  CHECK_THROWS_AS(resolve({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}), UsageError);
  CHECK_THROWS_WITH(resolve({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}),
                    Catch::Contains("MASTER_ADDR is not set"));
  CHECK_THROWS_WITH(resolve({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}),
                    Catch::Contains("MASTER_PORT is not set"));
  CHECK_THROWS_WITH(resolve({{"RANK", "1"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}),
                    Catch::Contains("WORLD_SIZE is not set"));
  CHECK_THROWS_WITH(resolve({{"WORLD_SIZE", "2"}}), Catch::Contains("RANK is not set"));
}

TEST_CASE("a malformed or inconsistent variable is named with its value", "[dist][rendezvous]") {
  CHECK_THROWS_WITH(resolve({{"RANK", "one"}, {"WORLD_SIZE", "2"}}), Catch::Contains("RANK='one' is not an integer"));
  CHECK_THROWS_WITH(resolve({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}),
                    Catch::Contains("rank 2 is outside [0, 2)"));
  CHECK_THROWS_WITH(resolve({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}),
                    Catch::Contains("master port 70000"));
}

TEST_CASE("world size 1 under torchrun needs no store address", "[dist][rendezvous]") {
  const auto r = resolve({{"RANK", "0"}, {"WORLD_SIZE", "1"}});
  CHECK(r.source == LaunchSource::kTorchrun);
  CHECK_FALSE(r.distributed());
}

TEST_CASE("slurm variables with the master exported by the sbatch script", "[dist][rendezvous]") {
  const auto r = resolve({{"SLURM_PROCID", "6"}, {"SLURM_NTASKS", "20"}, {"SLURM_LOCALID", "2"}, {"SLURM_NODEID", "1"},
                          {"SLURM_STEP_ID", "0"},
                          {"SLURM_TASKS_PER_NODE", "4(x5)"}, {"MASTER_ADDR", "gpu01"}, {"MASTER_PORT", "29400"},
                          {"SLURM_JOB_NODELIST", "gpu[01-05]"}});
  CHECK(r.source == LaunchSource::kSlurm);
  CHECK(r.rank == 6);
  CHECK(r.world_size == 20);
  CHECK(r.local_rank == 2);
  CHECK(r.local_world_size == 4);
  CHECK(r.node_rank == 1);
  CHECK(r.master_addr == "gpu01");
  CHECK(r.master_port == 29400);
}

TEST_CASE("slurm without MASTER_ADDR/PORT uses the first node and a port from the job id", "[dist][rendezvous]") {
  const auto r = resolve({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "0"}, {"SLURM_STEP_ID", "0"},
                          {"SLURM_JOB_NODELIST", "node[07-08,11],login1"}, {"SLURM_JOB_ID", "4812345"}});
  CHECK(r.master_addr == "node07");
  CHECK(r.master_port == 15000 + 2345);  // Lightning's rule: 15000 + last four digits of the job id
}

TEST_CASE("slurm without any way to find the master names MASTER_ADDR", "[dist][rendezvous]") {
  CHECK_THROWS_WITH(resolve({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_STEP_ID", "0"}}),
                    Catch::Contains("MASTER_ADDR"));
  CHECK_THROWS_WITH(resolve({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_STEP_ID", "0"}, {"MASTER_ADDR", "a"}}),
                    Catch::Contains("MASTER_PORT"));
  CHECK_THROWS_WITH(resolve({{"SLURM_PROCID", "0"}, {"SLURM_STEP_ID", "0"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}}),
                    Catch::Contains("SLURM_NTASKS is not set"));
}

TEST_CASE("slurm: the step's tasks, nodes and tasks per node win over the job's (srun on part of the allocation)",
          "[dist][rendezvous]") {
  // A 4-node job; this step runs 2 tasks per node on its last two nodes. Rank 0 (the store) is on gpu03.
  const auto r = resolve({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "16"}, {"SLURM_STEP_NUM_TASKS", "4"},
                          {"SLURM_STEP_ID", "2"}, {"SLURM_LOCALID", "1"}, {"SLURM_NODEID", "1"},
                          {"SLURM_JOB_NODELIST", "gpu[01-04]"}, {"SLURM_STEP_NODELIST", "gpu[03-04]"},
                          {"SLURM_TASKS_PER_NODE", "4(x4)"}, {"SLURM_STEP_TASKS_PER_NODE", "2(x2)"},
                          {"SLURM_JOB_ID", "77"}});
  CHECK(r.source == LaunchSource::kSlurm);
  CHECK(r.world_size == 4);
  CHECK(r.rank == 3);
  CHECK(r.local_world_size == 2);
  CHECK(r.master_addr == "gpu03");
  CHECK(r.master_port == 15077);
}

TEST_CASE("slurm variables outside an srun step (the sbatch script, a salloc shell): one process, with a warning",
          "[dist][rendezvous]") {
  // sbatch --ntasks=8 running `medsam train` without srun: one process exists, not eight; waiting for seven
  // more would only end at the store timeout.
  const auto r = resolve({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "8"}, {"SLURM_JOB_NODELIST", "gpu[01-02]"},
                          {"SLURM_JOB_ID", "4812345"}});
  CHECK(r.source == LaunchSource::kSingle);
  CHECK_FALSE(r.distributed());
  REQUIRE(r.warnings.size() == 1);
  CHECK_THAT(r.warnings[0], Catch::Contains("SLURM_NTASKS=8") && Catch::Contains("srun"));
  // One task: nothing to warn about.
  CHECK(resolve({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}}).warnings.empty());
}

TEST_CASE("mpirun inside a Slurm allocation: OpenMPI's variables win over the allocation's", "[dist][rendezvous]") {
  const auto r = resolve({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "8"}, {"SLURM_JOB_NODELIST", "gpu[01-02]"},
                          {"SLURM_JOB_ID", "4812345"}, {"OMPI_COMM_WORLD_RANK", "5"}, {"OMPI_COMM_WORLD_SIZE", "8"},
                          {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"},
                          {"MASTER_ADDR", "gpu01"}, {"MASTER_PORT", "29500"}});
  CHECK(r.source == LaunchSource::kOpenMpi);
  CHECK(r.rank == 5);
  CHECK(r.local_rank == 1);
}

TEST_CASE("slurm node lists and tasks per node", "[dist][rendezvous]") {
  CHECK(first_slurm_host("gpu01") == "gpu01");
  CHECK(first_slurm_host("gpu[01-04,07],cpu3") == "gpu01");
  CHECK(first_slurm_host("a,b") == "a");
  CHECK(first_slurm_host("rack[2-3]-n[10-12]") == "rack2-n10");
  CHECK_THROWS_AS(first_slurm_host("gpu[01-04"), UsageError);
  CHECK(slurm_tasks_on_node("4(x2),3", 0) == 4);
  CHECK(slurm_tasks_on_node("4(x2),3", 1) == 4);
  CHECK(slurm_tasks_on_node("4(x2),3", 2) == 3);
  CHECK_FALSE(slurm_tasks_on_node("4(x2),3", 3));
  CHECK_FALSE(slurm_tasks_on_node("4(x", 0));
}

TEST_CASE("openmpi variables, with the store address passed by mpirun -x", "[dist][rendezvous]") {
  const auto r = resolve({{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "4"},
                          {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                          {"OMPI_COMM_WORLD_NODE_RANK", "1"}, {"MASTER_ADDR", "n0"}, {"MASTER_PORT", "29500"}});
  CHECK(r.source == LaunchSource::kOpenMpi);
  CHECK(r.rank == 3);
  CHECK(r.world_size == 4);
  CHECK(r.local_rank == 1);
  CHECK(r.local_world_size == 2);
  CHECK(r.node_rank == 1);
  CHECK_THROWS_WITH(resolve({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "4"}, {"MASTER_PORT", "1"}}),
                    Catch::Contains("MASTER_ADDR is not set") && Catch::Contains("mpirun -x"));
}

TEST_CASE("torchrun variables win over slurm's (torchrun inside an allocation)", "[dist][rendezvous]") {
  const auto r = resolve({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"},
                          {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}});
  CHECK(r.source == LaunchSource::kTorchrun);
  CHECK(r.rank == 1);
}

TEST_CASE("explicit flags override the environment", "[dist][rendezvous]") {
  RendezvousFlags flags;
  flags.rank = 1;
  flags.world_size = 3;
  flags.master_addr = "127.0.0.1";
  flags.master_port = 4000;
  const auto r = resolve({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}, flags);
  CHECK(r.source == LaunchSource::kFlags);
  CHECK(r.rank == 1);
  CHECK(r.world_size == 3);
  CHECK(r.master_addr == "127.0.0.1");
  CHECK(r.master_port == 4000);

  RendezvousFlags port_only;
  port_only.master_port = 5000;
  CHECK(resolve({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}, port_only)
            .master_port == 5000);
}

TEST_CASE("incomplete flags name the missing flag", "[dist][rendezvous]") {
  RendezvousFlags flags;
  flags.rank = 0;
  CHECK_THROWS_WITH(resolve({}, flags), Catch::Contains("--world-size"));
  flags.world_size = 2;
  CHECK_THROWS_WITH(resolve({}, flags), Catch::Contains("--master-addr"));
  flags.master_addr = "h";
  CHECK_THROWS_WITH(resolve({}, flags), Catch::Contains("--master-port"));
}

TEST_CASE("process_env reads the real environment", "[dist][rendezvous]") {
  const char* name = "MEDSAM_DIST_TEST_PROCESS_ENV";
  REQUIRE(std::getenv(name) == nullptr);
  ::setenv(name, "42", 1);
  const auto value = process_env()(name);
  ::unsetenv(name);  // restored before any check can fail
  CHECK(value == std::optional<std::string>("42"));
  CHECK_FALSE(process_env()(name));
}

TEST_CASE("the job a rank belongs to is named by its launcher's id", "[dist][rendezvous]") {
  const std::map<std::string, std::string> torchrun{{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "n1"},
                                                    {"MASTER_PORT", "29500"}};
  auto with = [&](std::map<std::string, std::string> extra) {
    auto vars = torchrun;
    vars.insert(extra.begin(), extra.end());
    return resolve(vars).job;
  };
  CHECK(with({}).empty());
  CHECK(with({{"TORCHELASTIC_RUN_ID", "none"}}).empty());  // torchrun's default --rdzv-id names nothing
  CHECK(with({{"TORCHELASTIC_RUN_ID", "exp7"}}) == "torchrun run exp7");
  CHECK(with({{"TORCHELASTIC_RUN_ID", "none"}, {"SLURM_JOB_ID", "4242"}, {"SLURM_STEP_ID", "3"}}) ==
        "slurm job 4242 step 3");
  CHECK(with({{"SLURM_JOB_ID", "4242"}, {"MEDSAM_RUN_ID", "launch-1f-00ab"}}) == "run launch-1f-00ab");
  CHECK(with({{"OMPI_MCA_ess_base_jobid", "77"}}) == "openmpi job 77");
}

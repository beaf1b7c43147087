// `medsam launch` end to end, with shell commands as ranks.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>

#include "tests/support/fixtures.h"
#include "tests/support/run_command.h"

using medsam::test::run_command;
using medsam::test::run_medsam;
using medsam::test::temp_dir;

TEST_CASE("launch gives each rank the torchrun variables and prefixes its output", "[dist][launch]") {
  const auto r = run_medsam(
      "launch --nproc 2 -- sh -c 'echo $RANK $WORLD_SIZE $LOCAL_RANK $LOCAL_WORLD_SIZE $MASTER_ADDR; echo e$RANK >&2'");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("[rank 0] 0 2 0 2 127.0.0.1\n"));
  CHECK_THAT(r.out, Catch::Contains("[rank 1] 1 2 1 2 127.0.0.1\n"));
  CHECK_THAT(r.err, Catch::Contains("[rank 1] e1\n"));
}

TEST_CASE("launch leaves a medsam command's own --threads=N alone (no second --threads)", "[dist][launch]") {
  const auto r = run_medsam("launch --nproc 2 -- medsam --threads=1 info " + medsam::test::tiny_checkpoint());
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("[rank 1]") && Catch::Contains("tiny"));
}

TEST_CASE("launch writes per-rank logs and passes the same free port to every rank", "[dist][launch]") {
  const std::string dir = temp_dir("launch_logs");
  const auto r = run_medsam(fmt::format("launch --nproc 2 --log-dir {} -- sh -c 'echo port=$MASTER_PORT'", dir));
  CHECK(r.exit_code == 0);
  const auto port_of = [&](int rank) { return run_command("grep port= " + dir + "/rank_" + std::to_string(rank) + ".log").out; };
  CHECK_THAT(port_of(0), Catch::StartsWith("port="));
  CHECK(port_of(0) == port_of(1));
  CHECK(port_of(0) != "port=0\n");
  // A second attempt appends under its own header: the first attempt's log survives.
  const auto again = run_medsam(fmt::format("launch --nproc 2 --log-dir {} -- sh -c 'echo second'", dir));
  CHECK(again.exit_code == 0);
  const std::string log0 = run_command("cat " + dir + "/rank_0.log").out;
  CHECK_THAT(log0, Catch::StartsWith("===== medsam launch, rank 0 of 2, ") && Catch::Contains("port=") &&
                       Catch::EndsWith("second\n"));
  CHECK(run_command("grep -c '===== medsam launch' " + dir + "/rank_1.log").out == "2\n");
}

TEST_CASE("launch takes MASTER_ADDR and MASTER_PORT from the environment, and refuses a loopback address "
          "across nodes", "[dist][launch]") {
  const auto r = run_command("MASTER_ADDR=10.9.8.7 MASTER_PORT=29511 " + std::string(MEDSAM_BIN) +
                             " launch --nproc 1 -- sh -c 'echo $MASTER_ADDR:$MASTER_PORT'");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("[rank 0] 10.9.8.7:29511"));
  const auto loopback = run_medsam("launch --nnodes 2 --node-rank 1 --master-port 29500 -- true");
  CHECK(loopback.exit_code == 2);
  CHECK_THAT(loopback.err, Catch::Contains("--master-addr 127.0.0.1 with --nnodes 2"));
}

TEST_CASE("a failed rank stops the others and its exit code is launch's", "[dist][launch]") {
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_medsam("launch --nproc 3 --grace 5 -- sh -c 'if [ $RANK = 1 ]; then exit 3; fi; sleep 60'");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(r.err);
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Catch::Contains("rank 1") && Catch::Contains("exited with code 3") &&
                        Catch::Contains("stopping the other 2 rank(s)"));
  CHECK(seconds < 30);  // not the 60 s the others would sleep
}

TEST_CASE("launch forwards SIGTERM to every rank and exits 128+15", "[dist][launch]") {
  // Each rank traps TERM (as the trainer does, to write a checkpoint), then says it is ready.
  const std::string dir = temp_dir("launch_signal");
  const std::string script = fmt::format(
      "{bin} launch --nproc 2 --grace 10 -- sh -c 'trap \"echo checkpoint-$RANK; exit 0\" TERM; "
      "touch {dir}/ready$RANK; sleep 60 & wait' & pid=$!; "
      "for i in $(seq 300); do [ -e {dir}/ready0 ] && [ -e {dir}/ready1 ] && break; sleep 0.1; done; "
      "kill -TERM $pid; wait $pid",
      fmt::arg("bin", MEDSAM_BIN), fmt::arg("dir", dir));
  const auto r = run_command("bash -c '" + [&] {
    std::string quoted;
    for (char c : script) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted;
  }() + "'");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 128 + 15);
  CHECK_THAT(r.out, Catch::Contains("[rank 0] checkpoint-0") && Catch::Contains("[rank 1] checkpoint-1"));
  CHECK_THAT(r.err, Catch::Contains("forwarded it to 2 rank(s)"));
}

TEST_CASE("launch: ranks that exit 75 (stopped after a checkpoint) have not failed", "[dist][launch]") {
  const auto stopped = run_medsam("launch --nproc 2 -- sh -c 'exit 75'");
  CHECK(stopped.exit_code == 75);
  CHECK_THAT(stopped.err, !Catch::Contains("exited with code"));
  // A real failure beside a stop is still the failure.
  const auto mixed = run_medsam("launch --nproc 2 -- sh -c '[ $RANK = 0 ] && exit 75; sleep 0.5; exit 3'");
  CHECK(mixed.exit_code == 3);
  CHECK_THAT(mixed.err, Catch::Contains("rank 1") && Catch::Contains("exited with code 3"));
}

TEST_CASE("launch gives the ranks of one launch one MEDSAM_RUN_ID, another launch another", "[dist][launch]") {
  const auto first = run_medsam("launch --nproc 2 -- sh -c 'echo id=$MEDSAM_RUN_ID'");
  const auto second = run_medsam("launch --nproc 1 -- sh -c 'echo id=$MEDSAM_RUN_ID'");
  REQUIRE(first.exit_code == 0);
  const auto id_of = [](const std::string& out, int rank) {
    const std::string tag = fmt::format("[rank {}] id=", rank);
    const auto at = out.find(tag);
    return at == std::string::npos ? std::string() : out.substr(at + tag.size(), out.find('\n', at) - at - tag.size());
  };
  CHECK_FALSE(id_of(first.out, 0).empty());
  CHECK(id_of(first.out, 0) == id_of(first.out, 1));
  CHECK(id_of(second.out, 0) != id_of(first.out, 0));
}

TEST_CASE("launch without a command is a usage error", "[dist][launch]") {
  const auto r = run_medsam("launch --nproc 2");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("command"));
  const auto r2 = run_medsam("launch --nnodes 2 -- true");
  CHECK(r2.exit_code == 2);
  CHECK_THAT(r2.err, Catch::Contains("--master-port is required"));
  // A grace period that is no number of seconds (NaN passes CLI::Range; 1e300 overflows milliseconds).
  for (const char* grace : {"nan", "1e300", "-1"}) {
    const auto g = run_medsam(std::string("launch --grace ") + grace + " -- true");
    CHECK(g.exit_code == 2);
    CHECK_THAT(g.err, Catch::Contains("--grace") && Catch::Contains("must be a number from 0 to 86400"));
  }
}

TEST_CASE("launch runs every medsam subcommand given without its program name, report and serve too",
          "[dist][launch]") {
  // The list comes from the subcommands registered on `medsam`: none falls through to a PATH lookup.
  for (const char* sub : {"report", "serve", "eval", "bench"}) {
    INFO(sub);
    const auto r = run_medsam(fmt::format("launch --nproc 1 -- {} --help", sub));
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("[rank 0]") && Catch::Contains(std::string("medsam ") + sub));
    CHECK_THAT(r.err, !Catch::Contains("not found in PATH"));
  }
}

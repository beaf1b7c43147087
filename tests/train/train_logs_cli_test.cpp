// What `medsam train` leaves for people and tools to read: plain log lines in a pipe, a progress bar
// when asked (or on a terminal), metrics.jsonl + metrics.csv, TensorBoard events.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "medsam/core/directory.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_command.h"

using namespace medsam::test;
namespace fs = std::filesystem;

namespace {

std::string synthetic_run(const std::string& dir, const std::string& extra) {
  return "train --config " + smoke_config() + " --set train.init_checkpoint=" + tiny_checkpoint() +
         " --set train.source=synthetic --set train.max_steps=3 --set train.log_every_steps=1"
         " --set train.checkpoint.every_steps=0 --output " + dir + extra;
}

size_t count_lines(const fs::path& p) {
  std::ifstream in(p);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}
}  // namespace

TEST_CASE("medsam train in a pipe prints plain step lines and writes JSONL, CSV and TensorBoard events", "[train][cli]") {
  const std::string dir = temp_dir("train_logs_plain");
  const auto r = run_medsam(synthetic_run(dir, ""));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("step 3/3 epoch 0 loss") && Catch::Contains("samples/s | ETA"));
  CHECK_THAT(r.err, !Catch::Contains("\033[K"));  // stderr is not a terminal: no bar
  CHECK(count_lines(fs::path(dir) / "metrics.jsonl") == 3);
  CHECK(count_lines(fs::path(dir) / "metrics.csv") == 4);
  int events = 0;
  for (const auto& e : medsam::list_directory(dir + "/tensorboard")) events += e.name.rfind("events.out.tfevents.", 0) == 0;
  CHECK(events == 1);
}

TEST_CASE("train.logs.progress=bar draws a bar redrawn in place with step, loss, lr, samples/s, ETA", "[train][cli]") {
  const std::string dir = temp_dir("train_logs_bar");
  const auto r = run_medsam(synthetic_run(dir, " --set train.logs.progress=bar --set train.logs.tensorboard=false"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("\r\033[K[########################] 3/3  loss "));
  CHECK_THAT(r.err, Catch::Contains(" samples/s  ETA "));
  CHECK_FALSE(fs::exists(fs::path(dir) / "tensorboard"));
}

TEST_CASE("a bad train.logs.progress value exits 2 naming the key", "[train][cli]") {
  const auto r = run_medsam(synthetic_run(temp_dir("train_logs_bad"), " --set train.logs.progress=fancy"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("train.logs.progress must be auto, bar or lines, got 'fancy'"));
}

// `medsam train` end to end on the tiny preset with the synthetic source, and its graceful stop.
#include <catch2/catch.hpp>

#include <fstream>

#include <filesystem>

#include "medsam/train/checkpoint.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"

using namespace medsam;
using namespace medsam::test;
namespace fs = std::filesystem;

namespace {
const std::string kSmoke = smoke_config();
const std::string kInit = tiny_checkpoint();
}  // namespace

TEST_CASE("medsam train on shards needs data.shards and names it", "[train][cli]") {
  const std::string dir = temp_dir("train_cli_shards");
  const auto r = run_medsam("train --config " + kSmoke + " --set train.init_checkpoint=" + kInit + " --output " + dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("data.shards is empty"));
}

TEST_CASE("medsam train fine-tunes on shards that medsam prep made from real MRI", "[train][cli]") {
  // Colin27 crop + AAL labels (tests/fixtures/colin27_crop) -> shards at 256² -> 2 training steps.
  MEDSAM_NEEDS_ITK("reads the Colin27 NIfTI crop");
  const std::string dir = temp_dir("train_cli_real");
  const std::string data = prep_colin27_crop(dir, "output:\n  image_size: 256\nsplit:\n  mode: none\n");
  const auto r = run_medsam("train --config " + kSmoke + " --set train.init_checkpoint=" + kInit + " --set data.shards=" +
                            data + " --set data.batch_size=2 --set data.num_workers=1 --set train.max_steps=2 "
                            "--set train.checkpoint.every_steps=0 --output " + dir + "/run");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::exists(train::checkpoint_path(dir + "/run", 2)));
  CHECK(fs::exists(fs::path(dir) / "run" / "model_final.pth"));
}

TEST_CASE("medsam train runs the tiny smoke config on synthetic boxes and resumes from its directory", "[train][cli]") {
  const std::string dir = temp_dir("train_cli_smoke");
  const std::string common = "train --config " + kSmoke + " --set train.init_checkpoint=" + kInit +
                             " --set train.source=synthetic --set train.checkpoint.every_steps=0 --output " + dir;
  const auto r = run_medsam(common + " --set train.max_steps=2");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::exists(train::checkpoint_path(dir, 2)));
  CHECK(fs::exists(fs::path(dir) / "model_final.pth"));
  CHECK(fs::exists(fs::path(dir) / "config.yaml"));
  const auto again = run_medsam(common + " --set train.max_steps=3 --resume " + dir);
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.err, Catch::Contains("resumed from") && Catch::Contains("at step 2"));
  CHECK(fs::exists(train::checkpoint_path(dir, 3)));
}

TEST_CASE("SIGTERM to a running medsam train: checkpoint written, exit code 0", "[train][cli]") {
  const std::string dir = temp_dir("train_cli_sigterm");
  const std::string cmd = std::string(MEDSAM_BIN) + " train --config " + kSmoke + " --set train.init_checkpoint=" + kInit +
                          " --set train.source=synthetic --set train.max_steps=100000 --output " + dir;
  // Wait until the first step is logged in metrics.jsonl (handlers are installed by then), then TERM it.
  const auto r = run_command("( " + cmd + " & pid=$!; for i in $(seq 1 600); do [ -s " + dir +
                             "/metrics.jsonl ] && break; sleep 0.1; done; kill -TERM $pid; wait $pid; echo rc=$? )");
  INFO(r.err);
  CHECK_THAT(r.out, Catch::Contains("rc=0"));
  CHECK_THAT(r.out, Catch::Contains("stopped by signal"));
  CHECK_FALSE(train::list_checkpoints(dir).empty());
}

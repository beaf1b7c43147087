// `medsam train` end to end on the tiny preset with the synthetic source, and its graceful stop.
#include <catch2/catch.hpp>
#include <fmt/format.h>

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
}  // namespace

TEST_CASE("medsam train on shards needs data.shards and names it", "[train][cli]") {
  const std::string dir = temp_dir("train_cli_shards");
  const auto r = run_medsam("train --config " + smoke_config() + " --set train.init_checkpoint=" + tiny_checkpoint() + " --output " + dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("data.shards is empty"));
}

TEST_CASE("medsam train fine-tunes on shards that medsam prep made from real MRI", "[train][cli]") {
  // Colin27 crop + AAL labels (tests/fixtures/colin27_crop) -> shards at 256² -> 2 training steps.
  MEDSAM_NEEDS_ITK("reads the Colin27 NIfTI crop");
  const std::string dir = temp_dir("train_cli_real");
  const std::string data = prep_colin27_crop(dir, "output:\n  image_size: 256\nsplit:\n  mode: none\n");
  const auto r = run_medsam("train --config " + smoke_config() + " --set train.init_checkpoint=" + tiny_checkpoint() + " --set data.shards=" +
                            data + " --set data.batch_size=2 --set data.num_workers=1 --set train.max_steps=2 "
                            "--set train.checkpoint.every_steps=0 --output " + dir + "/run");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::exists(train::checkpoint_path(dir + "/run", 2)));
  CHECK(fs::exists(fs::path(dir) / "run" / "model_final.pth"));
}

TEST_CASE("medsam train runs the tiny smoke config on synthetic boxes and resumes from its directory", "[train][cli]") {
  const std::string dir = temp_dir("train_cli_smoke");
  const std::string common = "train --config " + smoke_config() + " --set train.init_checkpoint=" + tiny_checkpoint() +
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

TEST_CASE("medsam train keeps runs apart: a fresh run refuses a folder with checkpoints, --resume alone continues "
          "the run as configured, a rollback sets the later checkpoints aside, stale temporaries go", "[train][cli]") {
  const std::string dir = temp_dir("train_cli_runs_apart");
  const std::string first = "train --config " + smoke_config() + " --set train.init_checkpoint=" + tiny_checkpoint() +
                            " --set train.source=synthetic --set train.checkpoint.every_steps=1 --set train.checkpoint.keep_last=0 "
                            "--set train.max_steps=3 --output " + dir;
  const auto r = run_medsam(first);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(train::list_checkpoints(dir).size() == 3);

  // The same command again would prune its own step-1 checkpoint as older than the first run's step 3.
  const auto again = run_medsam(first);
  CHECK(again.exit_code != 0);
  CHECK_THAT(again.err, Catch::Contains("already holds 3 step checkpoint(s)") && Catch::Contains("--resume " + dir));
  CHECK(train::list_checkpoints(dir).size() == 3);

  // --resume without a value (a requeued job): a folder with no checkpoint starts fresh; this one resumes
  // below (the same rule as --resume DIR).
  const std::string empty_dir = temp_dir("train_cli_auto_resume");
  const auto auto_fresh = run_medsam("train --config " + smoke_config() + " --set train.init_checkpoint=" + tiny_checkpoint() +
                                     " --set train.source=synthetic --set train.max_steps=1 --output " + empty_dir + " --resume");
  INFO(auto_fresh.err);
  CHECK(auto_fresh.exit_code == 0);
  CHECK_THAT(auto_fresh.err, Catch::Contains("no checkpoint in " + empty_dir + " yet, starting fresh"));

  // A checkpoint write killed mid-way, by a process long gone: removed at the next start.
  const std::string stale = dir + "/checkpoint_step_00000009.pth.tmp.2147483";
  std::ofstream(stale) << "half a checkpoint";
  REQUIRE(run_command("touch -d '2 hours ago' " + stale).exit_code == 0);

  // --resume with neither --config nor --output: the run's config.yaml, its folder; a changed lr is listed.
  const auto resumed = run_medsam("train --set train.max_steps=4 --set train.optimizer.lr=5e-5 --resume " + dir);
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK_THAT(resumed.err, Catch::Contains("resuming with the run's own settings") &&
                              Catch::Contains("train.optimizer.lr: 0.0001 -> 5e-05") && Catch::Contains("at step 3"));
  CHECK_THAT(resumed.err, !Catch::Contains("train.max_steps:"));  // run control, not worth a warning
  CHECK(fs::exists(train::checkpoint_path(dir, 4)));
  CHECK_FALSE(fs::exists(stale));
  CHECK_THAT(resumed.err, Catch::Contains("checkpoint_step_00000009.pth.tmp.2147483") && Catch::Contains("interrupted"));
  // The resumed run's config.yaml records no resume: used as a template it starts a new run.
  const std::string saved = test::file_contents(dir + "/config.yaml");
  CHECK_THAT(saved, Catch::Contains("output_dir: " + dir) && !Catch::Contains("resume: " + dir));
  const std::string copy_dir = temp_dir("train_cli_from_saved_config");
  const auto from_saved = run_medsam("train --config " + dir + "/config.yaml --set train.max_steps=1 --output " + copy_dir);
  INFO(from_saved.err);
  CHECK(from_saved.exit_code == 0);
  CHECK_THAT(from_saved.err, !Catch::Contains("resum"));
  CHECK(fs::exists(train::checkpoint_path(copy_dir, 1)));

  // Back to step 2: steps 3 and 4 belong to the run this one replaces; set aside, not deleted.
  const auto rollback = run_medsam("train --resume " + train::checkpoint_path(dir, 2) + " --set train.max_steps=3");
  INFO(rollback.err);
  REQUIRE(rollback.exit_code == 0);
  CHECK(fs::exists(fs::path(dir) / "superseded" / "checkpoint_step_00000004.pth"));
  CHECK(fs::exists(fs::path(dir) / "superseded" / "checkpoint_step_00000003.pth"));
  CHECK(train::list_checkpoints(dir).back() == train::checkpoint_path(dir, 3));  // this run's step 3

  // A resume whose --output is another run's folder would set aside and prune that run's checkpoints.
  const auto into_other = run_medsam("train --resume " + train::checkpoint_path(dir, 2) + " --set train.max_steps=3 --output " + copy_dir);
  CHECK(into_other.exit_code != 0);
  CHECK_THAT(into_other.err, Catch::Contains("writes into " + copy_dir) && Catch::Contains("of another run"));
  CHECK(train::list_checkpoints(copy_dir) == std::vector<std::string>{train::checkpoint_path(copy_dir, 1)});
  CHECK_FALSE(fs::exists(fs::path(copy_dir) / "superseded"));
  // Into an empty folder (a branch of the run), and into its own folder named another way, it goes on.
  const std::string branch_dir = temp_dir("train_cli_resume_branch");
  const auto branch = run_medsam("train --resume " + train::checkpoint_path(dir, 2) + " --set train.max_steps=3 --output " + branch_dir);
  INFO(branch.err);
  CHECK(branch.exit_code == 0);
  CHECK(fs::exists(train::checkpoint_path(branch_dir, 3)));
  const auto same = run_medsam("train --resume " + dir + " --set train.max_steps=4 --output " + dir + "/.");
  INFO(same.err);
  CHECK(same.exit_code == 0);
}

TEST_CASE("resuming a checkpoint copied without its folder uses the settings saved inside it", "[train][cli]") {
  const std::string run = temp_dir("train_cli_lone_run"), lone = temp_dir("train_cli_lone_copy");
  const auto r = run_medsam("train --config " + smoke_config() + " --set train.init_checkpoint=" + tiny_checkpoint() +
                            " --set train.source=synthetic --set train.optimizer.lr=0.0005 --set train.max_steps=1 "
                            "--output " + run);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  fs::copy_file(train::checkpoint_path(run, 1), lone + "/step1.pth");
  // No config.yaml beside it: the command's defaults (vit_b, shards) would not even start.
  const auto resumed = run_medsam("train --resume " + lone + "/step1.pth --set train.max_steps=2");
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK_THAT(resumed.err, Catch::Contains("resuming with the settings saved in " + lone + "/step1.pth"));
  CHECK(fs::exists(train::checkpoint_path(lone, 2)));
  CHECK_THAT(test::file_contents(lone + "/config.yaml"), Catch::Contains("lr: 0.0005") && Catch::Contains("source: synthetic"));
}

TEST_CASE("SIGTERM to a running medsam train: checkpoint written, exit code 75", "[train][cli]") {
  const std::string dir = temp_dir("train_cli_sigterm");
  // A checkpoint every step: the one due at the stop step is written once, not again by the stop.
  const std::string cmd = std::string(MEDSAM_BIN) + " train --config " + smoke_config() + " --set train.init_checkpoint=" + tiny_checkpoint() +
                          " --set train.source=synthetic --set train.max_steps=100000 --set train.checkpoint.every_steps=1 "
                          "--set train.checkpoint.keep_last=2 --output " + dir;
  // Wait until the first step is logged in metrics.jsonl (handlers are installed by then), then TERM it.
  const auto r = run_command("( " + cmd + " & pid=$!; for i in $(seq 1 600); do [ -s " + dir +
                             "/metrics.jsonl ] && break; sleep 0.1; done; kill -TERM $pid; wait $pid; echo rc=$? )");
  INFO(r.err);
  CHECK_THAT(r.out, Catch::Contains("rc=75"));  // kExitStopped: not a completion, not a failure
  CHECK_THAT(r.out, Catch::Contains("stopped by signal"));
  REQUIRE_FALSE(train::list_checkpoints(dir).empty());
  const int64_t last = train::checkpoint_step(train::list_checkpoints(dir).back());
  CHECK_THAT(r.out, Catch::Contains(fmt::format("stopped by signal after step {};", last)));
  CHECK(test::count_occurrences(r.err, fmt::format("(step {})", last)) == 1);
}

TEST_CASE("medsam train at another input size starts from a 256² checkpoint, info, infer and export take the "
          "result by its shapes", "[train][cli]") {
  const std::string dir = temp_dir("train_cli_resolution");
  const std::string size = " --set model.image_encoder.img_size=128 --set model.prompt_encoder.input_image_size=128"
                           " --set model.prompt_encoder.image_embedding_size=8";
  const auto r = run_medsam("train --config " + smoke_config() + size + " --set train.init_checkpoint=" + tiny_checkpoint() +
                            " --set train.source=synthetic --set train.checkpoint.every_steps=0 --set train.max_steps=2"
                            " --output " + dir);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("image_encoder.pos_embed 16x16 -> 8x8") &&
                        Catch::Contains("image_encoder.blocks.1.attn.rel_pos_h 31x24 -> 15x24"));
  const std::string model = dir + "/model_final.pth";
  const auto info = run_medsam("info " + model);
  INFO(info.err);
  CHECK(info.exit_code == 0);
  CHECK_THAT(info.out, Catch::Contains("arch: tiny at 128x128 input") && Catch::Contains("keys: all"));
  const auto inf = run_medsam("infer --checkpoint " + model + " --image " + std::string(MEDSAM_FIXTURES_DIR) +
                              "/sam_tiny/case_z70/image.png --box 46,50,86,90 --output " + dir + "/mask.png --save-logits " +
                              dir + "/logits.npy");
  INFO(inf.err);
  CHECK(inf.exit_code == 0);
  CHECK_THAT(inf.err, Catch::Contains("tiny layout at 128x128 input"));
  CHECK(fs::exists(dir + "/mask.png"));
  const auto exp = run_medsam("export --checkpoint " + model + " --output " + dir + "/export.safetensors");
  INFO(exp.err);
  CHECK(exp.exit_code == 0);
  // --arch tiny asks for the preset's 256²: the file is resized the other way, and says so.
  const auto preset = run_medsam("infer --checkpoint " + model + " --arch tiny --image " + std::string(MEDSAM_FIXTURES_DIR) +
                                 "/sam_tiny/case_z70/image.png --box 46,50,86,90 --output " + dir + "/m2.png");
  INFO(preset.err);
  CHECK(preset.exit_code == 0);
  CHECK_THAT(preset.err, Catch::Contains("image_encoder.pos_embed 8x8 -> 16x16"));
}

TEST_CASE("medsam train --stop-exit-code outside 0..255 is a usage error", "[train][cli]") {
  const auto r = run_medsam("train --stop-exit-code 256 --dump-config");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--stop-exit-code"));
}

TEST_CASE("model.arch in a config file picks the preset the model keys start from, as --arch does", "[train][cli]") {
  const std::string dir = test::temp_dir("train_cli_arch");
  std::ofstream(dir + "/tiny.yaml") << "model:\n  arch: tiny\n";
  const auto r = run_medsam("train --config " + dir + "/tiny.yaml --dump-config");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("embed_dim: 96") && !Catch::Contains("embed_dim: 768"));
  const auto both = run_medsam("train --arch vit_b --config " + dir + "/tiny.yaml --dump-config");
  CHECK(both.exit_code == 2);
  CHECK_THAT(both.err, Catch::Contains("--arch vit_b and model.arch tiny") && Catch::Contains("disagree"));
  const auto unknown = run_medsam("train --set model.arch=vit_hh --dump-config");
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("model.arch 'vit_hh' is not a model preset"));
}

// Validation inside the trainer: when it runs, what it records, best.pth, and that it changes nothing
// about training itself.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "medsam/eval/model_eval.h"
#include "medsam/io/pth.h"
#include "medsam/model/build_sam.h"
#include "medsam/model/weights.h"
#include "medsam/train/checkpoint.h"
#include "medsam/train/synthetic_source.h"
#include "medsam/train/trainer.h"
#include "medsam/train/validation.h"
#include "tests/support/run_command.h"
#include "tests/support/tiny_sam.h"

using namespace medsam;
using namespace medsam::train;
namespace fs = std::filesystem;

namespace {

TrainConfig config_in(const std::string& dir) {
  TrainConfig c;
  c.output_dir = dir;
  c.device = "cpu";
  c.max_steps = 6;
  c.epochs = 0;
  c.log_every_steps = 100;
  c.checkpoint.every_steps = 0;
  c.optimizer.lr = 1e-3;
  c.logs.progress = "lines";
  return c;
}

SyntheticSourceOptions source_options() {
  SyntheticSourceOptions o;
  o.image_size = 256;
  o.batch_size = 1;
  o.batches_per_epoch = 10;
  o.seed = 5;
  return o;
}


// Returns the scripted mean DSCs in turn, and draws from the global RNG as a careless validator might.
Validator scripted_validator(std::vector<double> dsc, std::vector<int64_t>* calls_at_step, TrainState* state) {
  auto i = std::make_shared<size_t>(0);
  return [dsc, i, calls_at_step, state](Sam&) {
    torch::rand({100});
    calls_at_step->push_back(state->step);
    ValidationSummary v;
    v.objects = 10;
    v.mean_dsc = dsc.at((*i)++);
    v.mean_nsd = v.mean_dsc + 0.1;
    return v;
  };
}

}  // namespace

TEST_CASE("validation summary: overall and per-modality/per-dataset means and medians", "[train][validation]") {
  std::vector<eval::ObjectScore> scores = {
      {"a", "ct", "c1", 0, 1, 0.2, 0.3}, {"a", "ct", "c1", 0, 2, 0.4, 0.5},
      {"b", "mr", "c2", 3, 1, 0.9, 1.0}, {"b", "mr", "c2", 4, 1, NAN, NAN}};
  const ValidationSummary s = summarize_validation(scores);
  CHECK(s.objects == 3);  // the NaN object is left out of the statistics
  CHECK(s.mean_dsc == Approx(0.5));
  CHECK(s.median_dsc == Approx(0.4));
  CHECK(s.mean_nsd == Approx(0.6));
  REQUIRE(s.groups.size() == 4);
  CHECK(s.groups[0].by == "modality");
  CHECK(s.groups[0].name == "ct");
  CHECK(s.groups[0].mean_dsc == Approx(0.3));
  CHECK(s.groups[1].name == "mr");
  CHECK(s.groups[1].objects == 1);
  CHECK(s.groups[1].mean_dsc == Approx(0.9));
  CHECK(s.groups[2].by == "dataset");
  CHECK(s.groups[2].name == "a");
  CHECK(s.groups[3].mean_nsd == Approx(1.0));
}

TEST_CASE("validation every N steps keeps best.pth from the best step and leaves training unchanged", "[train][validation]") {
  const std::string plain_dir = test::temp_dir("val_plain"), val_dir = test::temp_dir("val_best");
  SyntheticSource plain_source(source_options());
  Trainer plain(config_in(plain_dir), test::seeded_tiny_sam(), plain_source, "");
  plain.run();

  SyntheticSource source(source_options());
  auto cfg = config_in(val_dir);
  cfg.validation.every_steps = 2;
  cfg.validation.at_start = true;
  std::vector<int64_t> calls;
  TrainerOptions options;
  Trainer* self = nullptr;  // the validator records the trainer's step, known once it exists
  auto scripted = std::make_shared<Validator>();
  options.validate = [&, scripted](Sam& m) {
    if (!*scripted) *scripted = scripted_validator({0.1, 0.3, 0.6, 0.5}, &calls, &self->state());
    return (*scripted)(m);
  };
  Trainer t(cfg, test::seeded_tiny_sam(), source, "", options);
  self = &t;
  const TrainResult r = t.run();

  CHECK(calls == std::vector<int64_t>{0, 2, 4, 6});
  REQUIRE(r.validations.size() == 4);
  CHECK(r.validations[2].first == 4);
  CHECK(t.state().best_step == 4);
  CHECK(t.state().best_val_dice == 0.6);
  // best.pth holds the weights of step 4 (not the final ones), with its step and score.
  const PickleRef best = read_pth((fs::path(val_dir) / "best.pth").string());
  CHECK(best->get("step")->integer == 4);
  CHECK(best->get("val_mean_dsc")->real == 0.6);
  std::ifstream json(fs::path(val_dir) / "best.json");
  const std::string best_json(std::istreambuf_iterator<char>(json), {});
  CHECK_THAT(best_json, Catch::Contains("\"step\": 4") && Catch::Contains("\"val_mean_dsc\": 0.6"));
  const Checkpoint ck = read_checkpoint((fs::path(val_dir) / "best.pth").string());
  CHECK(ck.wrapper == "model");
  Sam reloaded = build_sam("tiny");
  load_weights(*reloaded, ck, /*strict=*/true);
  CHECK_FALSE(torch::equal(reloaded->image_encoder->named_parameters()["blocks.0.attn.qkv.weight"],
                           t.model()->image_encoder->named_parameters()["blocks.0.attn.qkv.weight"]));

  // Validation touched neither the RNG stream nor anything else: bit-identical training.
  const auto a = plain.model()->named_parameters(), b = t.model()->named_parameters();
  for (const auto& p : a) {
    INFO(p.key());
    CHECK(torch::equal(p.value(), b[p.key()]));
  }
  // The final checkpoint carries the best so far, for resume.
  const PickleRef last = read_pth(checkpoint_path(val_dir, 6));
  CHECK(last->get("trainer_state")->get("best_step")->integer == 4);
  CHECK(last->get("trainer_state")->get("best_val_dice")->real == 0.6);
}

TEST_CASE("a resumed run only replaces best.pth when it beats the best before the stop", "[train][validation]") {
  const std::string dir = test::temp_dir("val_resume_best");
  auto cfg = config_in(dir);
  cfg.validation.every_steps = 2;
  cfg.max_steps = 2;
  std::vector<int64_t> calls;
  TrainState state_view;
  {
    SyntheticSource source(source_options());
    TrainerOptions o;
    o.validate = scripted_validator({0.7}, &calls, &state_view);
    Trainer t(cfg, test::seeded_tiny_sam(), source, "", o);
    t.run();
    CHECK(t.state().best_step == 2);
  }
  cfg.max_steps = 4;
  SyntheticSource source(source_options());
  TrainerOptions o;
  o.validate = scripted_validator({0.65}, &calls, &state_view);
  Trainer t(cfg, test::seeded_tiny_sam(), source, "", o);
  t.resume(dir);
  const TrainResult r = t.run();
  REQUIRE(r.validations.size() == 1);
  CHECK(t.state().best_step == 2);  // 0.65 < 0.7 from before the resume
  CHECK(read_pth((fs::path(dir) / "best.pth").string())->get("step")->integer == 2);
}

TEST_CASE("a resume from a checkpoint older than best.pth keeps best.pth's score as the bar (a crash after a "
          "best, before the next checkpoint)", "[train][validation]") {
  const std::string dir = test::temp_dir("val_resume_older");
  auto cfg = config_in(dir);
  cfg.validation.every_steps = 1;
  cfg.checkpoint.every_steps = 2;
  cfg.max_steps = 3;
  std::vector<int64_t> calls;
  TrainState state_view;
  {
    SyntheticSource source(source_options());
    TrainerOptions o;
    o.validate = scripted_validator({0.5, 0.6, 0.9}, &calls, &state_view);
    Trainer t(cfg, test::seeded_tiny_sam(), source, "", o);
    t.run();
    CHECK(t.state().best_step == 3);
  }
  // The step-2 checkpoint records best 0.6; best.pth/best.json (step 3, 0.9) came after it. A crash
  // between writing best.pth and best.json leaves the json a model behind: best.pth's own score counts.
  std::ofstream(fs::path(dir) / "best.json") << R"({"step": 2, "val_mean_dsc": 0.6, "file": "best.pth"})" << "\n";
  SyntheticSource source(source_options());
  TrainerOptions o;
  o.validate = scripted_validator({0.8}, &calls, &state_view);
  Trainer t(cfg, test::seeded_tiny_sam(), source, "", o);
  t.resume(checkpoint_path(dir, 2));
  CHECK(t.state().best_val_dice == 0.9);
  t.run();
  CHECK(t.state().best_step == 3);
  const PickleRef best = read_pth((fs::path(dir) / "best.pth").string());
  CHECK(best->get("val_mean_dsc")->real == 0.9);  // not replaced by the replayed step's 0.8
}

TEST_CASE("validation needs shards and says which keys to set", "[train][validation]") {
  ValidationConfig v;
  v.every_steps = 10;
  REQUIRE_THROWS_WITH(make_shard_validator(v, ""), Catch::Contains("data.shards") && Catch::Contains("train.validation.shards"));
  // A folder without a prepared dataset and a split that does not exist fail at start-up, naming the keys.
  const std::string empty = test::temp_dir("val_no_manifest");
  CHECK_THROWS_WITH(make_shard_validator(v, empty), Catch::Contains("train.validation (shards " + empty) &&
                                                        Catch::Contains("manifest.json"));
  v.split = "valid";
  CHECK_THROWS_WITH(make_shard_validator(v, empty), Catch::Contains("split 'valid'") && Catch::Contains("train, val or test"));
}

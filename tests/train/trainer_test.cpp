// The training loop on the tiny preset with a synthetic in-memory batch source: exact resume,
// frozen parts, non-finite steps, graceful stop, checkpoint contents.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>
#include <csignal>
#include <memory>
#include <filesystem>
#include <fstream>
#include <functional>

#include <unistd.h>
#include <vector>

#include "medsam/core/error.h"
#include "medsam/io/pth.h"
#include "medsam/model/build_sam.h"
#include "medsam/model/weights.h"
#include "medsam/train/checkpoint.h"
#include "medsam/train/output_folder.h"
#include "medsam/train/stop_signal.h"
#include "medsam/train/synthetic_source.h"
#include "medsam/train/trainer.h"
#include "tests/support/run_command.h"
#include "tests/support/tiny_sam.h"

using namespace medsam;
using namespace medsam::train;
namespace fs = std::filesystem;

namespace {

TrainConfig tiny_train_config(const std::string& dir) {
  TrainConfig c;
  c.output_dir = dir;
  c.device = "cpu";
  c.max_steps = 4;
  c.epochs = 0;
  c.log_every_steps = 100;
  c.checkpoint.every_steps = 2;
  c.checkpoint.keep_last = 0;
  c.optimizer.lr = 1e-3;
  return c;
}

SyntheticSourceOptions tiny_source() {
  SyntheticSourceOptions o;
  o.image_size = 256;
  o.batch_size = 1;
  o.batches_per_epoch = 3;  // step 4 crosses an epoch boundary
  o.seed = 7;
  return o;
}


NamedTensors params_of(torch::nn::Module& m) {
  NamedTensors out;
  for (auto& p : m.named_parameters()) out.emplace_back(p.key(), p.value().detach().clone());
  return out;
}

// Wraps a source; the batches whose (0-based) call index is in `poison` get NaN images, and the call
// with index `stop_at` raises a stop request as if SIGTERM had arrived.
class ScriptedSource final : public BatchSource {
 public:
  ScriptedSource(SyntheticSourceOptions o, std::vector<int> poison, int stop_at = -1)
      : inner_(o), poison_(std::move(poison)), stop_at_(stop_at) {}
  void begin_epoch(int64_t e) override { inner_.begin_epoch(e); }
  std::optional<data::Batch> next() override {
    auto b = inner_.next();
    if (b && std::find(poison_.begin(), poison_.end(), calls_) != poison_.end()) b->images.fill_(NAN);
    if (calls_ == stop_at_) request_stop(SIGTERM);
    ++calls_;
    return b;
  }
  std::string state() const override { return inner_.state(); }
  void restore(const std::string& s) override { inner_.restore(s); }

 private:
  SyntheticSource inner_;
  std::vector<int> poison_;
  int stop_at_;
  int calls_ = 0;
};

}  // namespace

TEST_CASE("resume is exact: 2 steps + resume + 2 steps equals 4 uninterrupted steps, bit for bit", "[train][trainer]") {
  const std::string dir_a = test::temp_dir("train_resume_a"), dir_b = test::temp_dir("train_resume_b");
  SyntheticSource source_a(tiny_source());
  Trainer a(tiny_train_config(dir_a), test::seeded_tiny_sam(), source_a, "yaml: a\n");
  const TrainResult ra = a.run();
  REQUIRE(ra.losses.size() == 4);
  CHECK(a.state().epoch == 1);
  REQUIRE(fs::exists(checkpoint_path(dir_a, 2)));

  SyntheticSource source_b(tiny_source());
  Trainer b(tiny_train_config(dir_b), test::seeded_tiny_sam(/*seed=*/99), source_b, "yaml: b\n");  // other init: weights come from the checkpoint
  b.resume(checkpoint_path(dir_a, 2));
  CHECK(b.state().step == 2);
  const TrainResult rb = b.run();
  REQUIRE(rb.losses.size() == 2);
  CHECK(rb.losses[0] == ra.losses[2]);
  CHECK(rb.losses[1] == ra.losses[3]);
  const auto pa = params_of(*a.model()), pb = params_of(*b.model());
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i].first);
    CHECK(torch::equal(pa[i].second, pb[i].second));
  }
  CHECK(b.state().samples == a.state().samples);
  CHECK(fs::exists(fs::path(dir_b) / "model_final.pth"));
}

TEST_CASE("training moves encoder and decoder, never the frozen prompt encoder or the IoU head", "[train][trainer]") {
  const std::string dir = test::temp_dir("train_frozen");
  SyntheticSource source(tiny_source());
  auto cfg = tiny_train_config(dir);
  cfg.max_steps = 2;
  Trainer t(cfg, test::seeded_tiny_sam(), source, "");
  const auto before = params_of(*t.model());
  t.run();
  const auto after = params_of(*t.model());
  for (size_t i = 0; i < before.size(); ++i) {
    const std::string& n = before[i].first;
    const bool same = torch::equal(before[i].second, after[i].second);
    INFO(n);
    if (n.rfind("prompt_encoder.", 0) == 0 || n.find("iou_prediction_head") != std::string::npos)
      CHECK(same);  // frozen, or no gradient reaches it (the loss ignores the IoU estimate)
    else if (n == "image_encoder.blocks.0.attn.qkv.weight" || n == "mask_decoder.output_upscaling.0.weight")
      CHECK_FALSE(same);
  }
}

TEST_CASE("a NaN loss skips the step (weights unchanged) and training goes on", "[train][trainer]") {
  const std::string dir = test::temp_dir("train_nan_skip");
  ScriptedSource source(tiny_source(), /*poison=*/{1});
  auto cfg = tiny_train_config(dir);
  cfg.max_steps = 1;
  Trainer t(cfg, test::seeded_tiny_sam(), source, "");
  t.run();
  const auto after_one = params_of(*t.model());
  const StepResult r = t.train_step();  // batch 1: NaN images
  CHECK(r.skipped);
  CHECK(t.state().skipped_steps == 1);
  const auto after_nan = params_of(*t.model());
  for (size_t i = 0; i < after_one.size(); ++i) CHECK(torch::equal(after_one[i].second, after_nan[i].second));
  const StepResult r2 = t.train_step();
  CHECK_FALSE(r2.skipped);
  CHECK(t.state().consecutive_nonfinite == 0);
}

TEST_CASE("too many non-finite steps in a row stop training with an error and no checkpoint", "[train][trainer]") {
  const std::string dir = test::temp_dir("train_nan_stop");
  ScriptedSource source(tiny_source(), /*poison=*/{0, 1, 2, 3});
  auto cfg = tiny_train_config(dir);
  cfg.max_nonfinite_steps = 2;
  Trainer t(cfg, test::seeded_tiny_sam(), source, "");
  REQUIRE_THROWS_WITH(t.run(), Catch::Contains("2 non-finite steps in a row"));
  CHECK(list_checkpoints(dir).empty());
}

TEST_CASE("a stop signal finishes the step, writes a checkpoint and returns", "[train][trainer]") {
  const std::string dir = test::temp_dir("train_signal");
  clear_stop_request();
  ScriptedSource source(tiny_source(), {}, /*stop_at=*/1);
  auto cfg = tiny_train_config(dir);
  cfg.max_steps = 100;
  cfg.checkpoint.every_steps = 0;
  Trainer t(cfg, test::seeded_tiny_sam(), source, "");
  const TrainResult r = t.run();
  clear_stop_request();
  CHECK(r.stop_signal == SIGTERM);
  CHECK(r.steps == 2);  // the step whose batch saw the signal completes
  CHECK(r.last_checkpoint == checkpoint_path(dir, 2));
  CHECK(fs::exists(r.last_checkpoint));
  CHECK_FALSE(fs::exists(fs::path(dir) / "model_final.pth"));  // not finished
}

TEST_CASE("a stop signal skips the validation due at that step: the checkpoint comes first", "[train][trainer]") {
  const std::string dir = test::temp_dir("train_signal_no_validation");
  clear_stop_request();
  ScriptedSource source(tiny_source(), {}, /*stop_at=*/1);
  auto cfg = tiny_train_config(dir);
  cfg.max_steps = 100;
  cfg.checkpoint.every_steps = 2;  // due at the stop step too: written once, by the stop
  cfg.validation.every_steps = 1;
  std::vector<int64_t> validated;
  TrainerOptions o;
  Trainer* trainer = nullptr;
  o.validate = [&](Sam&) {
    validated.push_back(trainer->state().step);
    ValidationSummary v;
    v.objects = 1;
    v.mean_dsc = 0.5;
    return v;
  };
  Trainer t(cfg, test::seeded_tiny_sam(), source, "", o);
  trainer = &t;
  const TrainResult r = t.run();
  clear_stop_request();
  CHECK(r.stop_signal == SIGTERM);
  CHECK(validated == std::vector<int64_t>{1});  // not at step 2, where the signal came
  CHECK(r.last_checkpoint == checkpoint_path(dir, 2));
  CHECK(list_checkpoints(dir) == std::vector<std::string>{checkpoint_path(dir, 2)});
}

TEST_CASE("a validation that throws stops training with the step's checkpoint written and the reason",
          "[train][trainer]") {
  const std::string dir = test::temp_dir("train_validation_throws");
  SyntheticSource source(tiny_source());
  auto cfg = tiny_train_config(dir);
  cfg.max_steps = 10;
  cfg.checkpoint.every_steps = 0;  // only the end would write one
  cfg.validation.every_steps = 3;
  TrainerOptions o;
  o.validate = [](Sam&) -> ValidationSummary { throw Error("val shard 0003.tar: truncated"); };
  Trainer t(cfg, test::seeded_tiny_sam(), source, "", o);
  CHECK_THROWS_WITH(t.run(), Catch::Contains("validation at step 3 failed: val shard 0003.tar: truncated") &&
                                 Catch::Contains("--resume " + dir));
  CHECK(list_checkpoints(dir) == std::vector<std::string>{checkpoint_path(dir, 3)});
  CHECK_FALSE(fs::exists(fs::path(dir) / "model_final.pth"));
}

TEST_CASE("a checkpoint is MedSAM's {model, optimizer, epoch} plus trainer_state, with config.yaml beside", "[train][trainer]") {
  const std::string dir = test::temp_dir("train_ckpt_layout");
  SyntheticSource source(tiny_source());
  auto cfg = tiny_train_config(dir);
  cfg.max_steps = 3;
  cfg.checkpoint.every_steps = 1;
  cfg.checkpoint.keep_last = 2;
  Trainer t(cfg, test::seeded_tiny_sam(), source, "train:\n  seed: 1\n");
  t.run();
  const auto kept = list_checkpoints(dir);
  REQUIRE(kept.size() == 2);  // keep_last 2: steps 2 and 3
  CHECK(kept.back() == checkpoint_path(dir, 3));
  std::ifstream yaml(fs::path(dir) / "config.yaml");
  CHECK(std::string(std::istreambuf_iterator<char>(yaml), {}) == "train:\n  seed: 1\n");

  const PickleRef root = read_pth(kept.back());
  REQUIRE(root->get("model"));
  CHECK(root->get("epoch")->integer == 0);  // 3 steps of batch 1 = the 3 batches of epoch 0
  CHECK(root->get("optimizer")->get("param_groups")->items.size() == 2);
  const PickleValue* ts = root->get("trainer_state");
  REQUIRE(ts);
  CHECK(ts->get("step")->integer == 3);
  CHECK(ts->get("source_state")->text == "0 3");
  CHECK(ts->get("rng_state")->is_tensor());
  // SAM's names, no prefix: exactly the keys segment_anything's load_state_dict(strict=True) wants.
  const Checkpoint ck = read_checkpoint(kept.back());
  CHECK(ck.wrapper == "model");
  CHECK(ck.stripped_prefix.empty());
  CHECK(ck.tensors.size() == expected_state_dict("tiny").size());
  CHECK_NOTHROW(load_weights(*build_sam("tiny"), ck, true));
  CHECK(fs::exists(fs::path(dir) / "metrics.jsonl"));
}

TEST_CASE("gradient accumulation over 2 micro-batches of 1 matches one batch of 2", "[train][trainer]") {
  const std::string d1 = test::temp_dir("train_accum_1"), d2 = test::temp_dir("train_accum_2");
  auto o1 = tiny_source();
  o1.batch_size = 2;
  o1.batches_per_epoch = 1;
  // Batch of 2 from the synthetic source: the two halves as two micro-batches of 1.
  SyntheticSource whole(o1);
  whole.begin_epoch(0);
  data::Batch b = *whole.next();
  struct Split final : BatchSource {
    data::Batch b;
    int i = 0;
    void begin_epoch(int64_t) override { i = 0; }
    std::optional<data::Batch> next() override {
      if (i >= 2) return std::nullopt;
      data::Batch h;
      h.images = b.images.slice(0, i, i + 1);
      h.image_index = torch::zeros({1}, torch::kInt64);
      h.boxes = b.boxes.slice(0, i, i + 1);
      h.masks = b.masks.slice(0, i, i + 1);
      ++i;
      return h;
    }
    std::string state() const override { return ""; }
    void restore(const std::string&) override {}
  } split;
  split.b = b;
  SyntheticSource whole2(o1);
  auto cfg = tiny_train_config(d1);
  cfg.max_steps = 1;
  cfg.checkpoint.every_steps = 0;
  Trainer t1(cfg, test::seeded_tiny_sam(), whole2, "");
  t1.train_step();
  cfg.output_dir = d2;
  cfg.grad_accum_steps = 2;
  Trainer t2(cfg, test::seeded_tiny_sam(), split, "");
  t2.train_step();
  // Gradients stay in .grad after the step: the accumulated sum of (loss / 2) gradients equals the
  // gradient of the batch mean (Dice is a per-sample mean, BCE a mean over equal-sized samples).
  auto g1 = t1.optimizer().parameters(), g2 = t2.optimizer().parameters();
  REQUIRE(g1.size() == g2.size());
  int compared = 0;
  for (size_t i = 0; i < g1.size(); ++i) {
    REQUIRE(g1[i].grad().defined() == g2[i].grad().defined());
    if (!g1[i].grad().defined()) continue;
    CHECK(torch::allclose(g1[i].grad(), g2[i].grad(), 1e-3, 1e-6));
    ++compared;
  }
  CHECK(compared > 50);
}

TEST_CASE("train.precision bf16 on the CPU runs the image encoder in bf16, close to fp32 but not equal, and "
          "activation checkpointing recomputes it in bf16 too", "[train][trainer]") {
  const std::string dir = test::temp_dir("train_cpu_bf16");
  // One step from the same weights and batch in each mode; gradients stay in .grad after the step.
  auto one_step = [&](const std::string& precision, bool checkpointing) {
    auto cfg = tiny_train_config(dir + "/" + precision + (checkpointing ? "_ckpt" : ""));
    cfg.max_steps = 1;
    cfg.checkpoint.every_steps = 0;
    cfg.precision = precision;
    cfg.activation_checkpointing = checkpointing;
    SyntheticSource source(tiny_source());
    auto trainer = std::make_unique<Trainer>(cfg, test::seeded_tiny_sam(), source, "");
    const StepResult r = trainer->train_step();
    REQUIRE_FALSE(r.skipped);
    std::vector<at::Tensor> grads;
    for (const auto& p : trainer->optimizer().parameters())
      grads.push_back(p.grad().defined() ? p.grad().clone() : at::Tensor());
    return std::make_pair(r, grads);
  };
  const auto [fp32, g_fp32] = one_step("fp32", false);
  const auto [bf16, g_bf16] = one_step("bf16", false);
  const auto [bf16_ckpt, g_bf16_ckpt] = one_step("bf16", true);
  INFO("loss fp32 " << fp32.loss << ", bf16 " << bf16.loss << ", bf16 + checkpointing " << bf16_ckpt.loss);
  CHECK(std::isfinite(bf16.loss));
  CHECK(bf16.loss != fp32.loss);  // the encoder really ran in bf16 ...
  CHECK(std::abs(bf16.loss - fp32.loss) < 0.02 * std::abs(fp32.loss));  // ... within bf16's error
  CHECK(std::abs(bf16.grad_norm - fp32.grad_norm) < 0.05 * fp32.grad_norm);
  // Checkpointing recomputes each block under the autocast state its forward saw: the same bf16 values.
  CHECK(bf16_ckpt.loss == Approx(bf16.loss).epsilon(1e-6));
  REQUIRE(g_bf16.size() == g_bf16_ckpt.size());
  int compared = 0;
  for (size_t i = 0; i < g_bf16.size(); ++i) {
    if (!g_bf16[i].defined()) continue;
    REQUIRE(g_bf16_ckpt[i].defined());
    CHECK(torch::allclose(g_bf16_ckpt[i], g_bf16[i], 1e-4, 1e-6));
    ++compared;
  }
  CHECK(compared > 50);
}

TEST_CASE("TrainConfig::validate refuses out-of-range settings, naming the key", "[train][trainer]") {
  const auto refused = [](const std::function<void(TrainConfig&)>& change, const std::string& key) {
    TrainConfig c;
    c.max_steps = 10;
    c.validate();  // the defaults (with a step limit) pass
    change(c);
    INFO(key);
    CHECK_THROWS_WITH(c.validate(), Catch::Contains("train." + key));
  };
  refused([](TrainConfig& c) { c.schedule.min_lr_ratio = -3; }, "schedule.min_lr_ratio");  // negative lr
  refused([](TrainConfig& c) { c.schedule.min_lr_ratio = 1.5; }, "schedule.min_lr_ratio");
  refused([](TrainConfig& c) { c.schedule.warmup_steps = -1; }, "schedule.warmup_steps");
  refused([](TrainConfig& c) { c.schedule.total_steps = -5; }, "schedule.warmup_steps/total_steps");
  refused([](TrainConfig& c) { c.optimizer.eps = -1; }, "optimizer.eps");
  refused([](TrainConfig& c) { c.loss.smooth = -1e-5; }, "loss.smooth");
  refused([](TrainConfig& c) { c.max_steps = -1; }, "max_steps and epochs");
  refused([](TrainConfig& c) { c.threads = -3; }, "threads");
  refused([](TrainConfig& c) { c.validation.min_object_pixels = -5; }, "validation.min_object_pixels");
  refused([](TrainConfig& c) { c.freeze = {"decoder"}; }, "freeze: unknown part 'decoder'");
  refused([](TrainConfig& c) { c.validation.split = "validation"; }, "validation.split");
  refused([](TrainConfig& c) { c.synthetic_batch_size = 0; }, "synthetic_batch_size");
}

TEST_CASE("stale temporaries of interrupted writes go, live writers' and fresh ones stay, our own pid counts as "
          "stale (a container's PID 1 restarted)", "[train][trainer]") {
  const std::string dir = test::temp_dir("train_stale_temporaries");
  const std::string own = checkpoint_path(dir, 7) + ".tmp." + std::to_string(::getpid());
  const std::string parent = checkpoint_path(dir, 8) + ".tmp." + std::to_string(::getppid());  // alive
  const std::string fresh = checkpoint_path(dir, 9) + ".tmp.2147483";                          // under a minute old
  const std::string gone = checkpoint_path(dir, 6) + ".tmp.2147483";
  for (const auto& p : {own, parent, fresh, gone}) std::ofstream(p) << "half a checkpoint";
  for (const auto& p : {own, parent, gone}) REQUIRE(test::run_command("touch -d '2 hours ago' " + p).exit_code == 0);
  const auto removed = remove_stale_temporaries(dir);
  CHECK(removed.size() == 2);
  CHECK_FALSE(fs::exists(own));
  CHECK_FALSE(fs::exists(gone));
  CHECK(fs::exists(parent));
  CHECK(fs::exists(fresh));
}

TEST_CASE("a training checkpoint's size is estimated at start-up and a folder without room for it is refused",
          "[train][trainer]") {
  Sam sam = test::seeded_tiny_sam();
  int64_t params = 0, trainable = 0;
  apply_freeze(*sam, {"prompt_encoder"});
  for (const auto& p : sam->parameters()) {
    params += p.numel();
    if (p.requires_grad()) trainable += p.numel();
  }
  const uint64_t estimate = estimated_checkpoint_bytes(*sam);
  CHECK(estimate >= static_cast<uint64_t>(params * 4 + trainable * 8));
  // Written, a checkpoint is that size give or take the pickle framing.
  const std::string dir = test::temp_dir("train_ckpt_size");
  SyntheticSource source(tiny_source());
  auto cfg = tiny_train_config(dir);
  cfg.max_steps = 1;
  Trainer t(cfg, sam, source, "");
  t.run();
  const auto written = fs::file_size(checkpoint_path(dir, 1));
  CHECK(static_cast<double>(written) == Approx(static_cast<double>(estimate)).epsilon(0.05));

  const uint64_t gb = 1ull << 30;
  CHECK_THROWS_WITH(check_checkpoint_space("/runs/a", gb, gb), Catch::Contains("/runs/a: 1024 MB free") &&
                                                                   Catch::Contains("about 1024 MB"));
  CHECK_THAT(check_checkpoint_space("/runs/a", gb, gb * 3 / 2), Catch::Contains("not for the next"));
  CHECK(check_checkpoint_space("/runs/a", gb, 3 * gb).empty());
}

TEST_CASE("checkpoint file names: the step is read back, odd names are not checkpoints", "[train][trainer]") {
  CHECK(checkpoint_step("/runs/a/checkpoint_step_00000042.pth") == 42);
  CHECK(checkpoint_step("checkpoint_step_123456789012345678.pth") == 123456789012345678);
  // More digits than a step can have: not a checkpoint (was std::out_of_range from stoll).
  CHECK(checkpoint_step("checkpoint_step_99999999999999999999999.pth") == -1);
  CHECK(checkpoint_step("checkpoint_step_12.pth.tmp") == -1);
  CHECK(checkpoint_step("best.pth") == -1);
}

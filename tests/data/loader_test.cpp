#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "medsam/core/error.h"
#include "medsam/data/dataset.h"
#include "medsam/data/loader.h"
#include "medsam/data/pipeline.h"
#include "medsam/data/prompt_sampler.h"
#include "medsam/data/shard_index.h"
#include "medsam/train/loader_source.h"
#include "tests/data/synthetic_shards.h"
#include "tests/support/run_command.h"

using namespace medsam::data;

namespace {

DataConfig config_for(const std::string& dir) {
  DataConfig c;
  c.shards = dir;
  c.image_size = 64;
  c.batch_size = 3;
  c.seed = 9;
  c.prefetch = 2;
  return c;
}

SamplerOptions sopts(int rank, int world, bool shuffle = true) {
  SamplerOptions o;
  o.rank = rank;
  o.world_size = world;
  o.seed = 9;
  o.shuffle = shuffle;
  return o;
}

std::vector<Batch> drain(Loader& loader) {
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

bool same(const Batch& a, const Batch& b) {
  if (a.sources.size() != b.sources.size()) return false;
  for (std::size_t k = 0; k < a.sources.size(); ++k) {
    if (a.sources[k].key != b.sources[k].key || a.sources[k].label != b.sources[k].label) return false;
  }
  auto eq = [](const at::Tensor& x, const at::Tensor& y) { return x.defined() == y.defined() && (!x.defined() || x.equal(y)); };
  return eq(a.images, b.images) && eq(a.boxes, b.boxes) && eq(a.masks, b.masks) && eq(a.image_index, b.image_index) &&
         eq(a.points, b.points) && eq(a.point_labels, b.point_labels);
}

std::string make_set(const std::string& name, int samples = 14) {
  const auto dir = medsam::test::temp_dir(name);
  medsam::test::write_synthetic(dir, {{"ct_set", Modality::kCt, samples}});
  return dir;
}

}  // namespace

TEST_CASE("loader batches follow the contract: one uniform label, its mask, a jittered box", "[data][loader]") {
  const auto dir = make_set("loader_contract");
  auto cfg = config_for(dir);
  cfg.prompts.points = true;
  cfg.prompts.positive_points = 2;
  cfg.prompts.negative_points = 1;
  const TrainingDataset ds(dir, "train");
  const DistributedSampler sampler(static_cast<std::int64_t>(ds.size()), sopts(0, 1));
  Loader loader(ds, sampler, cfg);
  std::map<int, int> label_count;
  for (std::int64_t epoch = 0; epoch < 12; ++epoch) {
    loader.start(sampler.start_of(epoch));
    CHECK(loader.batches_left() == 4);  // 14 samples, batch 3, drop_last
    for (const auto& b : drain(loader)) {
      REQUIRE(b.images.sizes() == torch::IntArrayRef({3, 3, 64, 64}));
      REQUIRE(b.masks.sizes() == torch::IntArrayRef({3, 1, 64, 64}));
      REQUIRE(b.boxes.sizes() == torch::IntArrayRef({3, 4}));
      REQUIRE(b.points.sizes() == torch::IntArrayRef({3, 3, 2}));
      CHECK(b.image_index.equal(torch::arange(3)));
      CHECK(b.images.min().item<float>() >= 0.f);
      CHECK(b.images.max().item<float>() <= 1.f);
      for (int k = 0; k < 3; ++k) {
        const auto& src = b.sources[k];
        const int i = std::stoi(src.key.substr(src.key.rfind('z') + 1));
        ++label_count[src.label];
        // The mask is exactly the chosen label of that sample's label map.
        CHECK(b.masks[k][0].equal((medsam::test::synth_labels(i) == src.label).to(torch::kFloat)));
        const auto t = tight_box(b.masks[k][0]);
        const auto box = b.boxes[k];
        for (int side = 0; side < 2; ++side) {
          const float lo = box[side].item<float>(), hi = box[side + 2].item<float>();
          CHECK(lo <= t[side]);
          CHECK(lo >= std::max<std::int64_t>(0, t[side] - 20));
          CHECK(hi >= t[side + 2]);
          CHECK(hi <= std::min<std::int64_t>(64, t[side + 2] + 20));
        }
      }
    }
  }
  // 12 epochs x 12 samples = 144 prompts; odd samples have labels {1, 9}, even ones {1, 2, 9}:
  // P(1) = 0.5 * 1/2 + 0.5 * 1/3 = 0.417, P(2) = 0.167, P(9) = 0.417.
  CHECK(label_count[1] > 40);
  CHECK(label_count[2] > 10);
  CHECK(label_count[9] > 40);
}

TEST_CASE("loader output is identical for 0, 1 and 3 workers", "[data][loader]") {
  const auto dir = make_set("loader_workers");
  auto cfg = config_for(dir);
  cfg.augment.enabled = true;
  cfg.augment.rot90 = true;
  cfg.augment.scale = 0.1;
  cfg.augment.brightness = 0.1;
  cfg.drop_last = false;
  const TrainingDataset ds(dir, "train");
  const DistributedSampler sampler(static_cast<std::int64_t>(ds.size()), sopts(0, 1));
  std::vector<std::vector<Batch>> runs;
  for (int workers : {0, 1, 3}) {
    cfg.num_workers = workers;
    Loader loader(ds, sampler, cfg);
    loader.start(sampler.start_of(2));
    runs.push_back(drain(loader));
  }
  REQUIRE(runs[0].size() == 5);  // 14 = 3 + 3 + 3 + 3 + 2
  CHECK(runs[0].back().num_images() == 2);
  for (int r = 1; r < 3; ++r) {
    REQUIRE(runs[r].size() == runs[0].size());
    for (std::size_t b = 0; b < runs[0].size(); ++b) CHECK(same(runs[0][b], runs[r][b]));
  }
}

TEST_CASE("resuming from a saved position reproduces the rest of the epoch exactly", "[data][loader]") {
  const auto dir = make_set("loader_resume", 20);
  auto cfg = config_for(dir);
  cfg.num_workers = 2;
  const TrainingDataset ds(dir, "train");
  for (int rank = 0; rank < 2; ++rank) {
    const DistributedSampler sampler(static_cast<std::int64_t>(ds.size()), sopts(rank, 2));
    Loader full(ds, sampler, cfg);
    full.start(sampler.start_of(4));
    const auto expected = drain(full);
    REQUIRE(expected.size() == 3);  // 10 samples per rank, batch 3, drop_last
    CHECK(full.position().index == 9);

    Loader first(ds, sampler, cfg);
    first.start(sampler.start_of(4));
    REQUIRE(first.next());
    const SamplerPosition saved = first.position();  // what the trainer checkpoints
    CHECK(saved.index == 3);
    CHECK(saved.epoch == 4);
    first.stop();

    Loader resumed(ds, sampler, cfg);  // a new process after restart
    resumed.start(saved);
    const auto rest = drain(resumed);
    REQUIRE(rest.size() == 2);
    CHECK(same(rest[0], expected[1]));
    CHECK(same(rest[1], expected[2]));
  }
}

TEST_CASE("prompt mode all gives every eligible object of an image as its own prompt", "[data][loader]") {
  const auto dir = make_set("loader_all", 4);
  auto cfg = config_for(dir);
  cfg.objects_per_image = "all";
  cfg.batch_size = 2;
  cfg.min_object_pixels = 10;  // drops the speck
  cfg.shuffle = false;
  const TrainingDataset ds(dir, "train", cfg.min_object_pixels);
  const SamplerOptions o = sopts(0, 1, false);
  const DistributedSampler sampler(static_cast<std::int64_t>(ds.size()), o);
  Loader loader(ds, sampler, cfg);
  loader.start(sampler.start_of(0));
  const auto b = loader.next();
  REQUIRE(b);
  CHECK(b->num_images() == 2);
  CHECK(b->num_prompts() == 3);  // sample 0: labels 1, 2; sample 1: label 1
  CHECK(b->image_index.equal(torch::tensor({0, 0, 1}, torch::kLong)));
  CHECK(b->sources[1].label == 2);
}

TEST_CASE("a corrupt sample fails with its key, or is skipped and counted", "[data][loader]") {
  const auto dir = make_set("loader_corrupt", 6);
  {  // overwrite the PNG signature of sample 4's image inside the tar (size unchanged)
    const auto idx = ShardIndex::load(dir + "/train-000000.idx");
    std::fstream f(dir + "/train-000000.tar", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(idx.samples[4].img_offset));
    f.write("garbage!", 8);
  }
  auto cfg = config_for(dir);
  cfg.batch_size = 2;
  cfg.num_workers = 2;
  const TrainingDataset ds(dir, "train");
  const SamplerOptions o = sopts(0, 1, false);
  const DistributedSampler sampler(6, o);
  SECTION("error naming the key") {
    Loader loader(ds, sampler, cfg);
    loader.start(sampler.start_of(0));
    REQUIRE(loader.next());
    REQUIRE(loader.next());
    CHECK_THROWS_WITH(loader.next(), Catch::Contains("ct_set/c4/z0004"));
    CHECK(loader.position().index == 4);  // stays before the failed batch
    CHECK_FALSE(loader.next());           // stopped
  }
  SECTION("logged skip") {
    cfg.skip_corrupt = true;
    Loader loader(ds, sampler, cfg);
    loader.start(sampler.start_of(0));
    const auto batches = drain(loader);
    REQUIRE(batches.size() == 3);
    CHECK(batches[2].num_images() == 1);
    CHECK(batches[2].sources[0].key == "ct_set/c5/z0005");
    CHECK(loader.skipped() == 1);
  }
}

TEST_CASE("a sample whose objects the resize to image_size removes is left out and counted, not an error",
          "[data][loader]") {
  // Stored at 64, trained at 16: the nearest-neighbour resize keeps columns 2, 6, 10, ... so a 1-pixel
  // line in column 9 is gone, though the data is valid. Sample 1 is an ordinary one.
  const auto dir = medsam::test::temp_dir("loader_thin");
  at::Tensor thin = torch::zeros({64, 64}, torch::kInt);
  thin.slice(0, 5, 60).select(1, 9).fill_(3);
  medsam::test::write_samples(dir, {{medsam::test::synth_image(0), thin},
                                    {medsam::test::synth_image(1), medsam::test::synth_labels(1)}});
  auto cfg = config_for(dir);
  cfg.image_size = 16;
  cfg.batch_size = 2;
  cfg.skip_corrupt = false;
  const TrainingDataset ds(dir, "train");
  REQUIRE(ds.size() == 2);
  const DistributedSampler sampler(2, sopts(0, 1, false));
  Loader loader(ds, sampler, cfg);
  for (int epoch = 0; epoch < 2; ++epoch) {
    loader.start(sampler.start_of(epoch));
    const auto batches = drain(loader);
    REQUIRE(batches.size() == 1);
    REQUIRE(batches[0].num_images() == 1);
    CHECK(batches[0].sources[0].key == "custom/c1/z0001");
  }
  CHECK(loader.skipped() == 2);
  // At the stored size the line is a prompt like any other.
  cfg.image_size = 64;
  Loader full(ds, sampler, cfg);
  full.start(sampler.start_of(0));
  const auto batches = drain(full);
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].num_images() == 2);
  CHECK(full.skipped() == 0);
}

TEST_CASE("an img.png that is not 8-bit is corrupt: an error naming the sample, or a counted skip", "[data][loader]") {
  // A 16-bit image decodes to int32: at the stored size it reached the batch write-out (outside the
  // per-sample handling, naming nothing), resized it was clamped to 0..255 without a word.
  const auto dir = medsam::test::temp_dir("loader_16bit");
  const at::Tensor wide = medsam::test::synth_image(0).to(torch::kInt) * 200;
  medsam::test::write_samples(dir, {{wide, medsam::test::synth_labels(0)},
                                    {medsam::test::synth_image(1), medsam::test::synth_labels(1)}});
  const TrainingDataset ds(dir, "train");
  const DistributedSampler sampler(2, sopts(0, 1, false));
  for (const std::int64_t size : {64, 32}) {
    INFO("image_size " << size);
    auto cfg = config_for(dir);
    cfg.image_size = size;
    cfg.batch_size = 2;
    {
      Loader loader(ds, sampler, cfg);
      loader.start(sampler.start_of(0));
      CHECK_THROWS_WITH(loader.next(), Catch::Contains("custom/c0/z0000") && Catch::Contains("not 8-bit"));
    }
    cfg.skip_corrupt = true;
    Loader loader(ds, sampler, cfg);
    loader.start(sampler.start_of(0));
    const auto batches = drain(loader);
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].num_images() == 1);
    CHECK(loader.skipped() == 1);
  }
}

TEST_CASE("a split smaller than one batch with drop_last is refused naming the keys", "[data][loader]") {
  const auto dir = make_set("loader_small", 5);
  auto cfg = config_for(dir);
  cfg.batch_size = 8;
  cfg.drop_last = true;
  CHECK_THROWS_WITH(DataPipeline(cfg, 0, 1), Catch::Contains("5 samples per epoch") &&
                                                 Catch::Contains("data.batch_size 8") && Catch::Contains("data.drop_last"));
  cfg.batch_size = 3;  // 5 over 2 ranks: 3 each (padded), one batch per rank
  CHECK(DataPipeline(cfg, 1, 2).loader().batches_per_epoch() == 1);
  CHECK_THROWS_WITH(DataPipeline(cfg, 0, 4), Catch::Contains("gives each rank 2 samples") && Catch::Contains("4 rank(s)"));
  cfg.drop_last = false;
  CHECK(DataPipeline(cfg, 0, 4).loader().batches_per_epoch() == 1);
}

TEST_CASE("the pipeline wires config, balance weights and ranks together", "[data][loader]") {
  const auto dir = medsam::test::temp_dir("loader_pipeline");
  medsam::test::write_synthetic(dir, {{"ct_set", Modality::kCt, 12}, {"us_set", Modality::kUltrasound, 3}});
  auto cfg = config_for(dir);
  cfg.num_workers = 1;
  cfg.balance.by = "modality";
  cfg.balance.weights = {"ct=1", "us=1"};
  cfg.balance.epoch_samples = 300;
  std::map<std::string, int> per_dataset;
  for (int rank = 0; rank < 2; ++rank) {
    DataPipeline data(cfg, rank, 2);
    CHECK(data.sampler().num_samples() == 150);
    CHECK(data.loader().batches_per_epoch() == 50);
    data.loader().start(data.sampler().start_of(0));
    while (auto b = data.loader().next()) {
      for (const auto& s : b->sources) ++per_dataset[s.dataset];
    }
  }
  // 1:1 by modality although ct has 4x the samples: 300 draws, us share 0.5 +- 0.029 (sd).
  CHECK(per_dataset["us_set"] + per_dataset["ct_set"] == 300);
  CHECK(std::abs(per_dataset["us_set"] / 300.0 - 0.5) < 0.1);
  cfg.split = "nope";
  CHECK_THROWS_AS(DataPipeline(cfg, 0, 1), medsam::ConfigError);
}

TEST_CASE("a folder whose prep has not finished is refused unless data.allow_incomplete says otherwise", "[data][loader]") {
  const auto dir = medsam::test::temp_dir("loader_incomplete");
  medsam::test::write_synthetic(dir, {{"ct_set", Modality::kCt, 6}});
  Manifest m = Manifest::load(dir + "/manifest.json");
  m.complete = false;  // as medsam prep leaves it while it runs, or when it was stopped
  m.save(dir + "/manifest.json");
  auto cfg = config_for(dir);
  CHECK_THROWS_WITH(DataPipeline(cfg, 0, 1), Catch::Contains("data.shards " + dir) &&
                                                 Catch::Contains("has not finished") &&
                                                 Catch::Contains("data.allow_incomplete"));
  cfg.allow_incomplete = true;
  DataPipeline data(cfg, 0, 1);
  CHECK(data.sampler().dataset_size() == 6);
}

TEST_CASE("a training resume refuses a data position saved over a dataset of another size", "[data][loader]") {
  const auto small = make_set("loader_resize_a", 20), large = make_set("loader_resize_b", 21);
  const auto cfg = config_for(small);
  const TrainingDataset ds_small(small, "train"), ds_large(large, "train");
  REQUIRE(ds_small.size() != ds_large.size());
  const std::string n_small = std::to_string(ds_small.size()), n_large = std::to_string(ds_large.size());
  const DistributedSampler sampler_small(static_cast<std::int64_t>(ds_small.size()), sopts(0, 1));
  const DistributedSampler sampler_large(static_cast<std::int64_t>(ds_large.size()), sopts(0, 1));
  Loader loader_before(ds_small, sampler_small, cfg), loader_same(ds_small, sampler_small, cfg),
      loader_old(ds_small, sampler_small, cfg), loader_large(ds_large, sampler_large, cfg);
  medsam::train::LoaderSource before(loader_before, sampler_small);
  before.begin_epoch(0);
  REQUIRE(before.next());
  const std::string saved = before.state();
  CHECK(saved == "0 3 9 1 0 " + n_small + " 1 pad");  // epoch, index, seed, world size, rank, samples, order
  loader_before.stop();
  medsam::train::LoaderSource after(loader_large, sampler_large);
  CHECK_THROWS_WITH(after.restore(saved), Catch::Contains("training on " + n_small + " samples, data.shards now holds " + n_large));
  medsam::train::LoaderSource same(loader_same, sampler_small);
  CHECK_NOTHROW(same.restore(saved));
  loader_same.stop();
  medsam::train::LoaderSource old(loader_old, sampler_small);
  CHECK_NOTHROW(old.restore("0 3 9 1 0"));  // a checkpoint from before the size was saved
  CHECK_NOTHROW(old.restore("0 3 9 1 0 " + n_small));  // and from before the order's settings were
  loader_old.stop();
  // Another shuffle or uneven rule is another epoch order: refused naming the setting.
  SamplerOptions unshuffled = sopts(0, 1, false), dropping = sopts(0, 1);
  dropping.pad = false;
  const DistributedSampler sampler_unshuffled(static_cast<std::int64_t>(ds_small.size()), unshuffled);
  const DistributedSampler sampler_dropping(static_cast<std::int64_t>(ds_small.size()), dropping);
  Loader loader_unshuffled(ds_small, sampler_unshuffled, cfg), loader_dropping(ds_small, sampler_dropping, cfg);
  medsam::train::LoaderSource no_shuffle(loader_unshuffled, sampler_unshuffled);
  CHECK_THROWS_WITH(no_shuffle.restore(saved), Catch::Contains("data.shuffle true, the config now says false"));
  medsam::train::LoaderSource drop(loader_dropping, sampler_dropping);
  CHECK_THROWS_WITH(drop.restore(saved), Catch::Contains("data.uneven pad, the config now says drop"));
}

TEST_CASE("on CUDA the loader's batches are pinned and copy to the GPU asynchronously, unchanged", "[data][loader][cuda]") {
  if (!torch::cuda::is_available()) {
    WARN("skipped: no CUDA device (this test runs on GPU machines only)");
    return;
  }
  const auto dir = make_set("loader_pinned", 6);
  const TrainingDataset ds(dir, "train");
  const DistributedSampler sampler(static_cast<std::int64_t>(ds.size()), sopts(0, 1));
  auto plain_cfg = config_for(dir), pinned_cfg = config_for(dir);
  pinned_cfg.pin_memory = true;
  Loader plain(ds, sampler, plain_cfg), pinned(ds, sampler, pinned_cfg);
  plain.start(sampler.start_of(0));
  pinned.start(sampler.start_of(0));
  const auto a = drain(plain), b = drain(pinned);
  REQUIRE(a.size() == b.size());
  REQUIRE(!b.empty());
  for (std::size_t k = 0; k < a.size(); ++k) {
    CHECK_FALSE(a[k].images.is_pinned());
    CHECK(b[k].images.is_pinned());
    CHECK(b[k].masks.is_pinned());
    CHECK(same(a[k], b[k]));
    const auto on_gpu = b[k].images.to(at::Device(at::kCUDA, 0), at::kFloat, /*non_blocking=*/true);
    CHECK(on_gpu.cpu().equal(a[k].images));
  }
}

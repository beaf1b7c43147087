// `medsam train` over 2 Gloo processes started by `medsam launch` (loopback): the same result as one
// process with the combined batch, and a forwarded SIGTERM that all ranks act on together.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "medsam/io/pth.h"
#include "medsam/train/checkpoint.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"

using namespace medsam;
using namespace medsam::test;
namespace fs = std::filesystem;

namespace {


// Shards at 256² from the committed Colin27 crop (real MRI + AAL labels), all in the train split.
std::string prepare_shards(const std::string& dir) {
  return prep_colin27_crop(dir, "output:\n  image_size: 256\nsplit:\n  mode: none\n");
}

std::vector<double> losses_of(const std::string& run_dir) {
  std::ifstream in(fs::path(run_dir) / "metrics.jsonl");
  std::vector<double> out;
  for (std::string line; std::getline(in, line);) out.push_back(YAML::Load(line)["loss"].as<double>());
  return out;
}

}  // namespace

TEST_CASE("2 ranks x batch 2 end with the weights of 1 rank x batch 4 on the same samples", "[dist][train]") {
  MEDSAM_NEEDS_ITK("shards of the Colin27 NIfTI crop");
  // The sampler gives rank r the samples r, r+2, ... of the epoch order, which depends only on the seed,
  // and each sample's random box jitter is keyed by its position in the epoch: the two ranks' batches
  // together are exactly the single process's batch. Means over ranks equal the mean over the batch
  // (per-sample Dice, BCE over equal-sized masks), so only float summation order differs.
  const std::string dir = temp_dir("train_dist_equiv");
  const std::string shards = prepare_shards(dir);
  const std::string common = "train --config " + smoke_config() + " --set train.init_checkpoint=" + tiny_checkpoint() +
                             " --set data.shards=" + shards +
                             " --set data.num_workers=1 --set train.max_steps=3 --set train.checkpoint.every_steps=0"
                             " --set train.dist.timeout_s=60";
  const auto one = run_medsam("--threads 1 " + common + " --set data.batch_size=4 --output " + dir + "/one");
  INFO(one.err);
  REQUIRE(one.exit_code == 0);
  const auto two = run_medsam("launch --nproc-per-node 2 -- " + common + " --set data.batch_size=2 --output " + dir + "/two");
  INFO(two.out << two.err);
  REQUIRE(two.exit_code == 0);
  CHECK_THAT(two.err, Catch::Contains("x 2 processes"));

  // The logged losses are the means over ranks: the single process's losses.
  const auto l1 = losses_of(dir + "/one"), l2 = losses_of(dir + "/two");
  REQUIRE(l1.size() == 3);
  REQUIRE(l2.size() == 3);
  for (size_t i = 0; i < l1.size(); ++i) CHECK(l2[i] == Approx(l1[i]).epsilon(1e-5));

  const PickleRef a = read_pth(dir + "/one/model_final.pth"), b = read_pth(dir + "/two/model_final.pth");
  REQUIRE(a->entries.size() == b->entries.size());
  // AdamW divides each update by sqrt(v): where a gradient element is ~0, its +-lr update is decided by
  // float summation order (which differs between 2 ranks and 1), so a few tensors drift by ~lr. The
  // losses above agree to 1e-5; nearly every tensor must agree to 1e-5 and none may drift by more than 1%.
  double worst = 0;
  std::string worst_name;
  size_t close = 0;
  for (const auto& [key, value] : a->entries) {
    const PickleValue* other = b->get(key->text);
    REQUIRE(other);
    const auto x = value->tensor.to(torch::kDouble), y = other->tensor.to(torch::kDouble);
    const double scale = std::max(y.norm().item<double>(), 1e-12);
    const double rel = (x - y).norm().item<double>() / scale;
    if (rel < 1e-5) ++close;
    if (rel > worst) worst = rel, worst_name = key->text;
  }
  INFO("largest relative difference " << worst << " in " << worst_name << "; " << close << " of "
                                      << a->entries.size() << " tensors within 1e-5");
  CHECK(close >= a->entries.size() * 95 / 100);
  CHECK(worst < 1e-2);
}

TEST_CASE("SIGTERM to medsam launch: both ranks stop after the same step, rank 0 checkpoints", "[dist][train]") {
  const std::string dir = temp_dir("train_dist_sigterm");
  const std::string cmd = fmt::format(
      "{} launch --nproc-per-node 2 --grace 20 -- train --config {} --set train.init_checkpoint={} "
      "--set train.source=synthetic --set train.max_steps=100000 --set train.dist.timeout_s=60 --output {}/run",
      MEDSAM_BIN, smoke_config(), tiny_checkpoint(), dir);
  const auto r = run_command("( " + cmd + " & pid=$!; for i in $(seq 1 600); do [ -s " + dir +
                             "/run/metrics.jsonl ] && break; sleep 0.1; done; kill -TERM $pid; wait $pid; echo rc=$? )");
  INFO(r.out << r.err);
  CHECK_THAT(r.out, Catch::Contains("rc=75"));  // every rank stopped after the checkpoint: the ranks' own code
  CHECK_THAT(r.out, Catch::Contains("[rank 0] medsam train: stopped by signal after step"));
  CHECK_THAT(r.err, Catch::Contains("SIGTERM received"));
  const auto kept = train::list_checkpoints(dir + "/run");
  REQUIRE_FALSE(kept.empty());
  CHECK_THAT(r.err, !Catch::Contains("medsam: error") && !Catch::Contains("exited with code"));  // no rank failed
}

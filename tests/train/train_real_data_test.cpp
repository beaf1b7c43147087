// Issue 8, test 7: learning on real data. Colin27 T1 MRI with the AAL atlas (Debian mricron-data) merged
// into 15 lobes (configs/prep/colin27_lobes.yaml: 256² slices split 70/15/15 by position), then the tiny
// preset trains 500 CPU steps from tests/fixtures/sam_tiny (random weights) with the demo's recipe at a
// constant learning rate. Training loss must fall and validation Dice (tight boxes on the first 8 val
// slices) must rise, by margins about half of what was measured (2026-11-28, 2-core machine, 2.5 min):
// loss 1.356 -> 0.457 (steps 1-20 vs 481-500), validation mean DSC 0.059 -> 0.381.
// History: with 200 steps and a cosine schedule the validation DSC first FELL (0.059 -> 0.017): the
// random-weight model predicts background for its first ~250 steps, then learns the box-prompted lobes
// (the demo's validation: 0.054 at step 0, 0.058 at 250, 0.32 at 500, 0.45 at 1000).
#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"
#include "tests/support/run_command.h"

using namespace medsam::test;
namespace fs = std::filesystem;

namespace {

const std::string kDemoConfig = source_file("configs/train/demo_tiny.yaml");
const std::string kPrep = std::string(MEDSAM_SOURCE_DIR) + "/configs/prep/colin27_lobes.yaml";
// The demo's recipe (configs/train/demo_tiny.yaml: batch 4 at 256², lr 5e-4 after a 20-step warmup, here
// held constant) on the demo's data, validation on the first 8 val slices before training and after
// step 500. (On the 116 separate AAL regions the tiny model needs longer still: validation DSC fell
// from 0.02 to 0.0001 in 200 steps, measured.)
const std::string kTrainArgs =
    " --set data.num_workers=1 --set train.max_steps=500 --set train.schedule.name=constant"
    " --set train.checkpoint.every_steps=0 --set train.log_every_steps=50"
    " --set train.validation.every_steps=500 --set train.validation.at_start=true"
    " --set train.validation.max_samples=8";
constexpr double kLossMargin = 0.4;  // measured drop 0.90
constexpr double kDscMargin = 0.15;  // measured rise 0.32

double mean(const std::vector<double>& v, size_t from, size_t to) {
  return std::accumulate(v.begin() + static_cast<long>(from), v.begin() + static_cast<long>(to), 0.0) /
         static_cast<double>(to - from);
}

}  // namespace

TEST_CASE("500 CPU steps on real Colin27/AAL shards lower the training loss and raise validation Dice", "[train][real]") {
  if (!fs::exists("/usr/share/mricron/templates/ch2.nii.gz")) {
    WARN("mricron-data is not installed (scripts/setup-deps installs it): test skipped");
    return;
  }
  const std::string dir = temp_dir("train_real_colin27");
  const auto prep = run_medsam("prep " + kPrep + " --output " + dir + "/data");
  INFO(prep.err);
  REQUIRE(prep.exit_code == 0);
  const auto r = run_medsam("train --config " + kDemoConfig + " --set train.init_checkpoint=" + tiny_checkpoint() + " --set data.shards=" +
                            dir + "/data" + kTrainArgs + " --output " + dir + "/run");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);

  std::vector<double> losses, val_dsc;
  std::vector<long> val_steps;
  std::ifstream in(fs::path(dir) / "run" / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const YAML::Node j = YAML::Load(line);
    if (j["val_mean_dsc"]) {
      val_dsc.push_back(j["val_mean_dsc"].as<double>());
      val_steps.push_back(j["step"].as<long>());
    } else {
      losses.push_back(j["loss"].as<double>());
    }
  }
  REQUIRE(losses.size() == 500);
  REQUIRE(val_steps == std::vector<long>{0, 500});
  const double first = mean(losses, 0, 20), last = mean(losses, 480, 500);
  WARN("mean loss steps 1-20: " << first << ", steps 481-500: " << last << "; val mean DSC step 0: " << val_dsc[0]
                                << ", step 500: " << val_dsc[1]);
  CHECK(first - last > kLossMargin);
  CHECK(val_dsc[1] - val_dsc[0] > kDscMargin);
  CHECK(fs::exists(fs::path(dir) / "run" / "best.pth"));
}

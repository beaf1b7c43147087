// The trainer's structured outputs: metrics.jsonl (read back with yaml-cpp, a JSON superset parser),
// metrics.csv / val_metrics.csv, and the progress bar's text.
#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "medsam/core/directory.h"
#include "medsam/train/metrics_log.h"
#include "medsam/train/progress_bar.h"
#include "medsam/train/validation.h"
#include "tests/support/run_command.h"

using namespace medsam;
using namespace medsam::train;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

ValidationSummary two_group_summary() {
  ValidationSummary v;
  v.objects = 3;
  v.mean_dsc = 0.5;
  v.median_dsc = 0.6;
  v.mean_nsd = 0.7;
  v.median_nsd = 0.8;
  v.groups = {{"modality", "mr", 3, 0.5, 0.6, 0.7, 0.8}, {"dataset", "colin, aal", 3, 0.5, 0.6, 0.7, 0.8}};
  return v;
}

}  // namespace

TEST_CASE("metrics log: a partial last line left by a killed run is cut off before the resumed run appends",
          "[train][metrics]") {
  const std::string dir = test::temp_dir("metrics_log_partial");
  TrainLogConfig cfg;
  cfg.tensorboard = false;
  {
    MetricsLog log(dir, cfg, true);
    log.add_step({1, 0, 4, 0.75, 0.5, 0.25, 1e-4, 2.0, 0.5, false});
  }
  // The process died inside its second append (and a power loss left NUL bytes in the CSV).
  std::ofstream(fs::path(dir) / "metrics.jsonl", std::ios::app) << "{\"step\": 2, \"epoch\": 0, \"lo";
  std::ofstream(fs::path(dir) / "metrics.csv", std::ios::app) << std::string("2,0,0.7") + std::string(5, '\0');
  {
    MetricsLog resumed(dir, cfg, true);
    resumed.add_step({2, 0, 4, 0.5, 0.25, 0.25, 1e-4, 1.0, 0.25, false});
    resumed.add_step({3, 0, 4, 0.5, 0.25, 0.25, 1e-4, 1.0, 0.25, false});
  }
  const auto json = lines_of(fs::path(dir) / "metrics.jsonl");
  REQUIRE(json.size() == 3);
  for (size_t i = 0; i < json.size(); ++i) CHECK(YAML::Load(json[i])["step"].as<int>() == static_cast<int>(i) + 1);
  const auto csv = lines_of(fs::path(dir) / "metrics.csv");
  REQUIRE(csv.size() == 4);  // header + 3 rows, each of 10 fields
  for (const auto& row : csv) CHECK(std::count(row.begin(), row.end(), ',') == 9);
  CHECK(csv[2].rfind("2,0,0.5,", 0) == 0);
  // A file holding only a partial first line is emptied, and the CSV header written again.
  std::ofstream(fs::path(dir) / "val_metrics.csv") << "step,by,gr";
  {
    MetricsLog again(dir, cfg, true);
    again.add_validation(4, two_group_summary(), false);
  }
  const auto val = lines_of(fs::path(dir) / "val_metrics.csv");
  REQUIRE(val.size() == 4);
  CHECK(val[0] == "step,by,group,objects,mean_dsc,median_dsc,mean_nsd,median_nsd");
}

TEST_CASE("metrics log: a JSON line and a CSV row per step, NaN as null/nan, headers once", "[train][metrics]") {
  const std::string dir = test::temp_dir("metrics_log_steps");
  TrainLogConfig cfg;
  cfg.tensorboard = false;
  {
    MetricsLog log(dir, cfg, /*enabled=*/true);
    log.add_step({1, 0, 4, 0.75, 0.5, 0.25, 1e-4, 2.0, 0.5, false});
    log.add_step({2, 0, 4, NAN, NAN, NAN, 1e-4, NAN, 0.5, true});
  }
  {
    MetricsLog again(dir, cfg, true);  // a resumed run appends
    again.add_step({3, 1, 4, 0.5, 0.25, 0.25, 5e-5, 1.0, 0.25, false});
  }
  const auto json = lines_of(fs::path(dir) / "metrics.jsonl");
  REQUIRE(json.size() == 3);
  const YAML::Node first = YAML::Load(json[0]);
  CHECK(first["step"].as<int>() == 1);
  CHECK(first["loss"].as<double>() == 0.75);
  CHECK(first["prompts"].as<int>() == 4);
  CHECK(first["skipped"].as<bool>() == false);
  const YAML::Node nan_line = YAML::Load(json[1]);
  CHECK(nan_line["loss"].IsNull());
  CHECK(nan_line["skipped"].as<bool>());
  const auto csv = lines_of(fs::path(dir) / "metrics.csv");
  REQUIRE(csv.size() == 4);  // one header, three rows
  CHECK(csv[0] == "step,epoch,loss,dice_loss,bce_loss,lr,grad_norm,prompts,step_seconds,skipped");
  CHECK(csv[1] == "1,0,0.75,0.5,0.25,0.0001,2,4,0.5,0");
  CHECK(csv[2] == "2,0,nan,nan,nan,0.0001,nan,4,0.5,1");
  CHECK(csv[3] == "3,1,0.5,0.25,0.25,5e-05,1,4,0.25,0");
}

TEST_CASE("metrics log: validation goes to metrics.jsonl with groups and to val_metrics.csv", "[train][metrics]") {
  const std::string dir = test::temp_dir("metrics_log_val");
  TrainLogConfig cfg;
  cfg.tensorboard = true;
  MetricsLog log(dir, cfg, true);
  log.add_validation(200, two_group_summary(), /*best=*/true);
  const auto json = lines_of(fs::path(dir) / "metrics.jsonl");
  REQUIRE(json.size() == 1);
  const YAML::Node v = YAML::Load(json[0]);
  CHECK(v["step"].as<int>() == 200);
  CHECK(v["val_mean_dsc"].as<double>() == 0.5);
  CHECK(v["val_median_nsd"].as<double>() == 0.8);
  CHECK(v["val_best"].as<bool>());
  CHECK(v["val_groups"]["modality"]["mr"]["mean_nsd"].as<double>() == 0.7);
  CHECK(v["val_groups"]["dataset"]["colin, aal"]["objects"].as<int>() == 3);
  const auto csv = lines_of(fs::path(dir) / "val_metrics.csv");
  REQUIRE(csv.size() == 4);
  CHECK(csv[0] == "step,by,group,objects,mean_dsc,median_dsc,mean_nsd,median_nsd");
  CHECK(csv[1] == "200,all,all,3,0.5,0.6,0.7,0.8");
  CHECK(csv[2] == "200,modality,mr,3,0.5,0.6,0.7,0.8");
  CHECK(csv[3] == "200,dataset,\"colin, aal\",3,0.5,0.6,0.7,0.8");
  // TensorBoard: one event file with the version record and this event.
  std::vector<fs::path> events;
  for (const auto& e : medsam::list_directory(dir + "/tensorboard")) events.push_back(e.path);
  REQUIRE(events.size() == 1);
  CHECK(fs::file_size(events[0]) > 100);
}

TEST_CASE("metrics log of a rank other than 0 writes nothing", "[train][metrics]") {
  const std::string dir = test::temp_dir("metrics_log_rank1");
  MetricsLog log(dir, TrainLogConfig{}, /*enabled=*/false);
  log.add_step({1, 0, 4, 0.75, 0.5, 0.25, 1e-4, 2.0, 0.5, false});
  log.add_validation(1, two_group_summary(), false);
  CHECK(fs::is_empty(dir));
}

TEST_CASE("progress bar text: filled share of the width, aligned count, tail", "[train][metrics]") {
  CHECK(progress_bar_text(50, 200, "loss 0.5", 8) == "[##......]  50/200  loss 0.5");
  CHECK(progress_bar_text(200, 200, "done", 4) == "[####] 200/200  done");
  CHECK(progress_bar_text(0, 10, "", 4) == "[....]  0/10  ");
  CHECK(progress_bar_text(7, 0, "epochs", 4) == "7  epochs");  // no step limit: no bar
}

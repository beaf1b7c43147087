// `medsam eval --checkpoint --data` end to end on Colin27 shards with the tiny fixture model.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <cmath>
#include <sstream>
#include <vector>

#include "medsam/data/dataset.h"
#include "medsam/io/image.h"
#include "medsam/io/volume.h"
#include "tests/eval/colin_shards.h"
#include "tests/support/skip.h"

using namespace medsam;
namespace fs = std::filesystem;

TEST_CASE("medsam eval --checkpoint --data writes the CSV, summaries, HTML report and gallery", "[eval][cli]") {
  MEDSAM_NEEDS_ITK("shards of the Colin27 NIfTI crop");
  MEDSAM_NEEDS_OPENCV("gallery overlays");
  const auto& data = test::colin_shards();
  const auto out = test::temp_dir("model_eval_cli") + "/report";
  const auto r = test::run_medsam("eval --checkpoint " + test::tiny_checkpoint() + " --data " + data +
                                  " --split val --jitter 3 --seed 7 --gallery 3 --output " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("eval [") && Catch::Contains("samples"));  // progress on stderr
  CHECK_THAT(r.out, Catch::Contains("## Per modality") && Catch::Contains("| mr |"));

  // One CSV row per (sample, label) pair with >= 1 pixel: the training dataset's own count.
  const data::TrainingDataset val(data, "val", 1);
  const auto csv = test::file_contents(out + "/metrics.csv");
  CHECK_THAT(csv, Catch::StartsWith("dataset,modality,case,slice,label,dsc,nsd\ncolin,mr,"));
  CHECK(test::count_occurrences(csv, "\n") == val.object_count() + 1);
  const auto md = test::file_contents(out + "/summary.md");
  CHECK_THAT(md, Catch::Contains("- split: val") && Catch::Contains("U[0, 3] px (seed 7)") &&
                     Catch::Contains("## Per label") && Catch::Contains("colin:"));
  CHECK_THAT(md, Catch::Contains("pixel_spacing: from the shards' metadata"));
  CHECK_THAT(test::file_contents(out + "/summary.json"), Catch::Contains("\"overall\"") && Catch::Contains("\"modality\""));

  // report.html: one box plot per modality (here only MR), and the gallery of 3 worst + 3 best.
  const auto html = test::file_contents(out + "/report.html");
  CHECK(test::count_occurrences(html, "<svg") == 1);
  CHECK(test::count_occurrences(html, "<figure>") == 6);
  for (const char* name : {"worst_01", "worst_03", "best_01", "best_03"}) {
    const std::string png = out + "/gallery/" + name + ".png";
    INFO(png);
    REQUIRE(fs::exists(png));
    const auto image = io::read_image(png);
    CHECK(image.size(0) == 512);  // 64 px shards drawn 8x
    CHECK(image.size(2) == 3);
    CHECK_THAT(html, Catch::Contains(std::string("gallery/") + name + ".png"));
  }
}

TEST_CASE("medsam eval --checkpoint with a --set outside model.* still reads the architecture from the checkpoint",
          "[eval][cli]") {
  MEDSAM_NEEDS_ITK("shards of the Colin27 NIfTI crop");
  const auto r = test::run_medsam("eval --checkpoint " + test::tiny_checkpoint() + " --data " + test::colin_shards() +
                                  " --split val --max-samples 2 --set train.seed=1");
  INFO(r.err);
  CHECK(r.exit_code == 0);  // it used to take the default vit_b from the config: 193 shape mismatches
}

TEST_CASE("medsam eval --checkpoint without --data, or with a bad split, is bad usage", "[eval][cli]") {
  const auto no_data = test::run_medsam("eval --checkpoint " + test::tiny_checkpoint() + " --output " +
                                        test::temp_dir("model_eval_cli_usage"));
  CHECK(no_data.exit_code == 2);
  CHECK_THAT(no_data.err, Catch::Contains("give --data"));
  const auto no_ckpt = test::run_medsam("eval --data somewhere");
  CHECK(no_ckpt.exit_code == 2);
  CHECK_THAT(no_ckpt.err, Catch::Contains("give --checkpoint"));
  const auto split = test::run_medsam("eval --checkpoint " + test::tiny_checkpoint() + " --data " +
                                      test::temp_dir("model_eval_cli_split") + " --split validation");
  CHECK(split.exit_code == 2);
  CHECK_THAT(split.err, Catch::Contains("--split 'validation'") && Catch::Contains("train, val or test"));
}

TEST_CASE("medsam eval --checkpoint refuses an unknown --device and negative counts before reading anything",
          "[eval][cli]") {
  const std::string base = "eval --checkpoint " + test::tiny_checkpoint() + " --data " +
                           test::temp_dir("model_eval_cli_flags") + " ";
  // c10::Device used to throw with a LibTorch stack trace (exit 1); parse_device names the flag.
  const auto bogus = test::run_medsam(base + "--device bogus");
  CHECK(bogus.exit_code == 2);
  CHECK_THAT(bogus.err, Catch::Contains("--device 'bogus': use cpu, cuda[:N] or auto"));
  CHECK_THAT(bogus.err, !Catch::Contains("Exception raised from"));
  // auto is a device name here as in infer: past the device, the folder without manifest.json is the error.
  const auto automatic = test::run_medsam(base + "--device auto");
  CHECK(automatic.exit_code == 1);
  CHECK_THAT(automatic.err, Catch::Contains("no manifest.json"));
  for (const char* flag : {"--max-samples", "--min-object-pixels", "--gallery"}) {
    INFO(flag);
    const auto r = test::run_medsam(base + flag + " -2");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(std::string(flag) + " -2: must be >= 0"));
  }
}

TEST_CASE("medsam eval --checkpoint --precision bf16 scores the model with a bf16 encoder, close to fp32",
          "[eval][cli]") {
  MEDSAM_NEEDS_ITK("shards of the Colin27 NIfTI crop");
  const auto& data = test::colin_shards();
  const auto dir = test::temp_dir("model_eval_cli_bf16");
  auto mean_dsc = [&](const std::string& precision) {
    const auto r = test::run_medsam("eval --checkpoint " + test::tiny_checkpoint() + " --data " + data +
                                    " --split val --precision " + precision + " --output " + dir + "/" + precision);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto md = test::file_contents(dir + "/" + precision + "/summary.md");
    CHECK_THAT(md, Catch::Contains("precision: " + precision));
    // The per-object CSV: the mean of its dsc column.
    std::ifstream csv(dir + "/" + precision + "/metrics.csv");
    std::string line;
    std::getline(csv, line);  // header
    double sum = 0;
    int n = 0;
    while (std::getline(csv, line)) {
      std::vector<std::string> f;
      std::stringstream ss(line);
      for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
      REQUIRE(f.size() == 7);
      sum += std::stod(f[5]);
      ++n;
    }
    REQUIRE(n > 0);
    return sum / n;
  };
  const double fp32 = mean_dsc("fp32"), bf16 = mean_dsc("bf16");
  INFO("mean DSC fp32 " << fp32 << ", bf16 " << bf16);
  CHECK(std::abs(bf16 - fp32) < 0.02);
  CHECK(test::run_medsam("eval --checkpoint " + test::tiny_checkpoint() + " --data " + data + " --precision fp16")
            .exit_code == 2);
}

// `medsam eval --pred --gt` end to end: folders of PNG label maps and a NIfTI pair with spacing.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "medsam/io/image.h"
#include "medsam/io/volume.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"

using namespace medsam;
using test::run_medsam;

namespace {
// 20x20 label map: label 1 a 6x6 square at (row y0, col x0), label 2 a 3x3 square at (12, 12) when `two`.
at::Tensor labels_2d(int64_t y0, int64_t x0, bool two) {
  at::Tensor m = torch::zeros({20, 20}, torch::kUInt8);
  m.slice(0, y0, y0 + 6).slice(1, x0, x0 + 6).fill_(1);
  if (two) m.slice(0, 12, 15).slice(1, 12, 15).fill_(2);
  return m;
}
}  // namespace

TEST_CASE("medsam eval scores folders of PNG label maps per case and label", "[eval][cli]") {
  const auto dir = test::temp_dir("eval_cli_png");
  std::filesystem::create_directories(dir + "/gt");
  std::filesystem::create_directories(dir + "/pred");
  io::write_image(dir + "/gt/a.png", labels_2d(2, 2, true));
  io::write_image(dir + "/pred/a.png", labels_2d(2, 2, true));   // perfect
  io::write_image(dir + "/gt/b.png", labels_2d(2, 2, false));
  io::write_image(dir + "/pred/b.png", labels_2d(2, 5, false));  // shifted 3 px, label 1 only
  auto r = run_medsam("eval --pred " + dir + "/pred --gt " + dir + "/gt --output " + dir + "/out");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // b: DSC = 2·(6·3)/72 = 0.5. NSD at 2 mm < 1 (the shift is 3 px at 1 mm).
  const std::string csv = test::file_contents(dir + "/out/metrics.csv");
  CHECK_THAT(csv, Catch::StartsWith("case,label,dsc,nsd\na,1,1.000000,1.000000\na,2,1.000000,1.000000\nb,1,0.500000,"));
  CHECK_THAT(test::file_contents(dir + "/out/summary.json"), Catch::Contains("\"nsd_tolerance_mm\": 2.0"));
  CHECK_THAT(test::file_contents(dir + "/out/summary.md"), Catch::Contains("| 2 | 1 | 1.0000 |"));
  CHECK_THAT(r.out, Catch::Contains("| all | 3 |"));
  // report.html: the summary and one box plot of all scores (no gallery without images).
  CHECK_THAT(test::file_contents(dir + "/out/report.html"), Catch::Contains("<svg") && Catch::Contains("No gallery for --pred/--gt"));
  // With 10 mm per pixel (--spacing), the same 3 px shift is 30 mm: far outside a 2 mm tolerance, but
  // inside 40 mm.
  auto wide = run_medsam("eval --pred " + dir + "/pred/b.png --gt " + dir + "/gt/b.png --spacing 10,10 --tolerance 40 --output " + dir + "/wide");
  REQUIRE(wide.exit_code == 0);
  CHECK(test::file_contents(dir + "/wide/metrics.csv") == "case,label,dsc,nsd\nb,1,0.500000,1.000000\n");
  // --label 2 is in case a only: scored there, and b's empty pair counts (a label some case holds).
  auto two = run_medsam("eval --pred " + dir + "/pred --gt " + dir + "/gt --label 2 --output " + dir + "/two");
  CHECK(two.exit_code == 0);
  // --label 5 is nowhere: a typo that would score 1.0 everywhere is refused, naming what is there.
  auto typo = run_medsam("eval --pred " + dir + "/pred --gt " + dir + "/gt --label 1,5 --output " + dir + "/typo");
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.err, Catch::Contains("--label 5: no ground truth or prediction of the 2 case(s) holds it (labels "
                                       "present: 1, 2)"));
  CHECK_FALSE(std::filesystem::exists(dir + "/typo/summary.json"));
}

TEST_CASE("medsam eval reads spacing from NIfTI headers", "[eval][cli]") {
  MEDSAM_NEEDS_ITK("NIfTI");
  const auto dir = test::temp_dir("eval_cli_nii");
  // One voxel, shifted by one slice; slices 3 mm apart. At 2 mm half of each surface is within tolerance.
  at::Tensor gt = torch::zeros({4, 3, 3}, torch::kUInt8), pred = torch::zeros({4, 3, 3}, torch::kUInt8);
  gt[1][1][1] = 1;
  pred[2][1][1] = 1;
  io::Volume g{gt, {}}, p{pred, {}};
  g.geometry.spacing = p.geometry.spacing = {1.0, 1.0, 3.0};  // (x, y, z)
  io::write_volume(dir + "/gt.nii.gz", g);
  io::write_volume(dir + "/pred.nii.gz", p);
  auto r = run_medsam("eval --pred " + dir + "/pred.nii.gz --gt " + dir + "/gt.nii.gz --output " + dir + "/out");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(test::file_contents(dir + "/out/metrics.csv") == "case,label,dsc,nsd\ngt,1,0.000000,0.500000\n");
  auto cvpr = run_medsam("eval --cvpr2024 --pred " + dir + "/pred.nii.gz --gt " + dir + "/gt.nii.gz --output " + dir + "/c");
  REQUIRE(cvpr.exit_code == 0);
  // The CVPR 2024 rule is on the case (its mean DSC 0 <= 0.2: NSD 0); the label row keeps its NSD.
  CHECK(test::file_contents(dir + "/c/metrics.csv") == "case,label,dsc,nsd\ngt,1,0.000000,0.500000\n");
  CHECK(test::file_contents(dir + "/c/cases.csv") == "case,dsc,nsd\ngt,0.000000,0.000000\n");
}

TEST_CASE("medsam eval names missing predictions, a folder that is not shards, and missing flags", "[eval][cli]") {
  const auto dir = test::temp_dir("eval_cli_bad");
  std::filesystem::create_directories(dir + "/gt");
  std::filesystem::create_directories(dir + "/pred");
  io::write_image(dir + "/gt/only_gt.png", labels_2d(2, 2, false));
  auto missing = run_medsam("eval --pred " + dir + "/pred --gt " + dir + "/gt");
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("no prediction for 1 of 1") && Catch::Contains("only_gt.png"));
  auto model = run_medsam("eval --checkpoint w.pth --data " + dir + "/gt");
  CHECK(model.exit_code == 1);
  CHECK_THAT(model.err, Catch::Contains("--data " + dir + "/gt: no manifest.json"));
  auto both = run_medsam("eval --checkpoint w.pth --data " + dir + "/gt --pred " + dir + "/pred --gt " + dir + "/gt");
  CHECK(both.exit_code == 2);
  CHECK_THAT(both.err, Catch::Contains("two different modes"));
  auto usage = run_medsam("eval --pred " + dir + "/pred");
  CHECK(usage.exit_code == 2);
  // A flag of the other mode did nothing; it is refused by name.
  auto jitter = run_medsam("eval --pred " + dir + "/pred --gt " + dir + "/gt --jitter 5 --precision bf16");
  CHECK(jitter.exit_code == 2);
  CHECK_THAT(jitter.err, Catch::Contains("--jitter, --precision apply to --checkpoint/--data only"));
  auto label = run_medsam("eval --checkpoint w.pth --data " + dir + "/gt --label 29");
  CHECK(label.exit_code == 2);
  CHECK_THAT(label.err, Catch::Contains("--label applies to --pred/--gt only"));
}

TEST_CASE("medsam eval --spacing takes two finite values > 0 and names them in the order given", "[eval][cli]") {
  const auto dir = test::temp_dir("eval_cli_spacing");
  std::filesystem::create_directories(dir + "/gt");
  std::filesystem::create_directories(dir + "/pred");
  io::write_image(dir + "/gt/a.png", labels_2d(2, 2, false));
  io::write_image(dir + "/pred/a.png", labels_2d(2, 2, false));
  const std::string base = "eval --pred " + dir + "/pred --gt " + dir + "/gt --output " + dir + "/out --spacing ";
  // -1,1 used to be reported as "got 1,-1" (y,x) by the distance code; 1,2,3 was accepted.
  for (const char* bad : {"-1,1", "1,0", "nan,1", "1,2,3", "2"}) {
    INFO(bad);
    const auto r = run_medsam(base + bad);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(std::string("--spacing ") + bad + ": give x,y, two finite numbers > 0"));
  }
  CHECK_FALSE(std::filesystem::exists(dir + "/out/metrics.csv"));
  const auto ok = run_medsam(base + "0.5,2");
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
}

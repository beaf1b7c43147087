// End to end: `medsam prep` on a 40x48x12 crop of Colin27 T1 + AAL (tests/fixtures/colin27_crop).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "data_prep/labels.h"
#include "data_prep/prep_config.h"
#include "medsam/core/directory.h"
#include "medsam/io/file_name.h"
#include "medsam/data/intensity.h"
#include "medsam/data/manifest.h"
#include "medsam/data/resize.h"
#include "medsam/data/shard_reader.h"
#include "medsam/io/volume.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"
#include "tests/support/fixtures.h"

namespace fs = std::filesystem;
using namespace medsam;

namespace {


std::string write_config(const std::string& dir, const std::string& images, const std::string& labels,
                         const std::string& extra = "") {
  const auto path = dir + "/ds.yaml";
  std::ofstream(path) << "dataset:\n  name: colin\n  modality: mr\n  anatomy: brain\n"
                      << "  images: " << images << "\n  labels: " << labels << "\n"
                      << "  label_names_file: " << test::colin27_crop_dir() << "/labels.txt\n"
                      << "output:\n  image_size: 64\nsplit:\n  mode: none\n"
                      << extra;
  return path;
}

// Independent connected components: every voxel of label L starts with its own id, and ids spread by
// max-pooling inside the label until nothing changes; component sizes are id histograms.
at::Tensor dust_by_pooling(at::Tensor lab, int64_t min_size, bool three_d) {
  lab = lab.to(torch::kLong).clone();
  const auto values = std::get<0>(at::_unique(lab.flatten()));
  for (int64_t i = 0; i < values.numel(); ++i) {
    const int64_t v = values[i].item<int64_t>();
    if (v == 0) continue;
    const auto mask = (lab == v).to(torch::kFloat);
    auto ids = (torch::arange(1, lab.numel() + 1).reshape(lab.sizes()).to(torch::kFloat)) * mask;
    for (;;) {
      auto x = ids.unsqueeze(0).unsqueeze(0);
      auto pooled = three_d ? torch::max_pool3d(x, 3, 1, 1) : torch::max_pool2d(x.squeeze(0).transpose(0, 1), 3, 1, 1)
                                                                  .transpose(0, 1)
                                                                  .unsqueeze(0);
      auto next = pooled.squeeze(0).squeeze(0) * mask;
      if (next.equal(ids)) break;
      ids = next;
    }
    auto flat = ids.flatten().to(torch::kLong);
    auto counts = torch::bincount(flat);
    auto small = (counts.index_select(0, flat) < min_size) & (flat > 0);
    lab.view(-1).masked_fill_(small, 0);
  }
  return lab;
}

}  // namespace

TEST_CASE("prep converts the Colin27 crop: (slice, label) pairs match an independent count", "[data][prep]") {
  MEDSAM_NEEDS_ITK("the Colin27 NIfTI crop");
  const auto dir = test::temp_dir("prep_colin");
  const auto cfg = write_config(dir, test::colin27_crop_dir() + "/image.nii.gz", test::colin27_crop_dir() + "/labels.nii.gz");
  // The user's own archive in the output folder (MSD ships Task03_Liver.tar): not prep's to delete.
  fs::create_directories(dir + "/out");
  std::ofstream(dir + "/out/Task03_Liver.tar") << "the user's download";
  const auto res = test::run_medsam("prep " + cfg + " --output " + dir + "/out --workers 2");
  INFO(res.err);
  REQUIRE(res.exit_code == 0);
  CHECK_THAT(res.out, Catch::Contains("prep summary"));
  CHECK(fs::exists(dir + "/out/Task03_Liver.tar"));

  // Independent count from the NIfTI arrays: 3D dust (26-conn, < 1000), then 2D per slice (8-conn, < 100).
  const auto img = io::read_volume(test::colin27_crop_dir() + "/image.nii.gz").data;
  auto lab = io::read_volume(test::colin27_crop_dir() + "/labels.nii.gz").data;
  lab = dust_by_pooling(lab, 1000, true);
  lab = dust_by_pooling(lab, 100, false);
  int64_t pairs = 0, slices = 0;
  for (int64_t z = 0; z < lab.size(0); ++z) {
    const auto ids = std::get<0>(at::_unique(lab[z].flatten()));
    pairs += ids.numel() - (ids.min().item<int64_t>() == 0 ? 1 : 0);
    slices += ids.max().item<int64_t>() > 0;
  }
  REQUIRE(pairs > 10);  // the crop keeps several AAL regions

  const auto m = data::Manifest::load(dir + "/out/manifest.json");
  CHECK(m.complete);
  CHECK(static_cast<int64_t>(m.by_split.at("train").objects) == pairs);
  CHECK(static_cast<int64_t>(m.by_split.at("train").samples) == slices);
  REQUIRE(m.shards.size() == 1);

  // Masks round-trip exactly (nearest-exact indices computed here), images follow the percentile rule.
  const auto norm = data::normalize_percentile(img, 0.5, 99.5);
  data::ShardReader reader(dir + "/out/" + m.shards[0].info.name);
  CHECK(reader.verify());
  const auto rows = ((torch::arange(64).to(torch::kDouble) + 0.5) * 48.0 / 64.0).floor().to(torch::kLong);
  const auto cols = ((torch::arange(64).to(torch::kDouble) + 0.5) * 40.0 / 64.0).floor().to(torch::kLong);
  for (size_t i = 0; i < reader.size(); ++i) {
    const auto& rec = reader.index().samples[i];
    const auto s = reader.read(i);
    const auto expect_lab = lab[rec.slice].index_select(0, rows).index_select(1, cols).to(torch::kInt);
    CHECK(s.labels.equal(expect_lab));
    CHECK(s.image.select(2, 0).equal(data::resize_image(norm[rec.slice], 64, 64)));
    CHECK_THAT(s.json, Catch::Contains("\"modality\":\"mr\""));
  }
  CHECK(test::run_command("tar -tf " + dir + "/out/" + m.shards[0].info.name + ".tar").exit_code == 0);
}

TEST_CASE("prep output is identical for any worker count, and a rerun resumes to 'already complete'",
          "[data][prep]") {
  MEDSAM_NEEDS_ITK("the Colin27 NIfTI crop");
  const auto dir = test::temp_dir("prep_determinism");
  fs::create_directories(dir + "/img");
  fs::create_directories(dir + "/lab");
  for (const char* c : {"a", "b", "c"}) {
    fs::copy_file(test::colin27_crop_dir() + "/image.nii.gz", dir + "/img/" + c + ".nii.gz");
    fs::copy_file(test::colin27_crop_dir() + "/labels.nii.gz", dir + "/lab/" + c + ".nii.gz");
  }
  // shard_bytes 1: every case closes its shards (a commit per case).
  const auto cfg = write_config(dir, dir + "/img", dir + "/lab");
  REQUIRE(test::run_medsam("prep " + cfg + " --set output.shard_bytes=1 --output " + dir + "/o1 --workers 1").exit_code == 0);
  REQUIRE(test::run_medsam("prep " + cfg + " --set output.shard_bytes=1 --output " + dir + "/o2 --workers 3").exit_code == 0);
  int shards = 0;
  for (const auto& e : medsam::list_directory(dir + "/o1")) {
    const auto& name = e.name;
    std::ifstream a(e.path, std::ios::binary), b(dir + "/o2/" + name, std::ios::binary);
    const std::string sa((std::istreambuf_iterator<char>(a)), {}), sb((std::istreambuf_iterator<char>(b)), {});
    INFO(name);
    CHECK(sa == sb);
    shards += io::has_extension(name, {".tar"});
  }
  CHECK(shards == 3);
  // A leftover from an interrupted run is removed; the committed work is kept.
  std::ofstream(dir + "/o1/train-000003.tar.tmp") << "half a shard";
  const auto again = test::run_medsam("prep " + cfg + " --set output.shard_bytes=1 --output " + dir + "/o1");
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("already complete"));
  CHECK_FALSE(fs::exists(dir + "/o1/train-000003.tar.tmp"));
  // Another config is refused without --overwrite.
  const auto other = test::run_medsam("prep " + cfg + " --set output.image_size=32 --output " + dir + "/o1");
  CHECK(other.exit_code == 2);
  CHECK_THAT(other.err, Catch::Contains("--overwrite"));
}

TEST_CASE("prep skips a corrupt case with its reason and still writes the good one", "[data][prep]") {
  MEDSAM_NEEDS_ITK("the Colin27 NIfTI crop");
  const auto dir = test::temp_dir("prep_corrupt");
  fs::create_directories(dir + "/img");
  fs::create_directories(dir + "/lab");
  fs::copy_file(test::colin27_crop_dir() + "/image.nii.gz", dir + "/img/good.nii.gz");
  fs::copy_file(test::colin27_crop_dir() + "/labels.nii.gz", dir + "/lab/good.nii.gz");
  std::ofstream(dir + "/img/broken.nii.gz") << "not a nifti";
  fs::copy_file(test::colin27_crop_dir() + "/labels.nii.gz", dir + "/lab/broken.nii.gz");
  const auto cfg = write_config(dir, dir + "/img", dir + "/lab");
  const auto res = test::run_medsam("prep " + cfg + " --output " + dir + "/out");
  INFO(res.err);
  REQUIRE(res.exit_code == 0);
  CHECK_THAT(res.err, Catch::Contains("skipping colin/broken"));
  const auto m = data::Manifest::load(dir + "/out/manifest.json");
  REQUIRE(m.skipped.size() == 1);
  CHECK(m.skipped[0].first == "colin/broken");
  CHECK(m.done_cases == std::vector<std::string>{"colin/good"});
}

TEST_CASE("prep --dry-run reports counts and writes nothing", "[data][prep]") {
  MEDSAM_NEEDS_ITK("the Colin27 NIfTI crop");
  const auto dir = test::temp_dir("prep_dry");
  const auto cfg = write_config(dir, test::colin27_crop_dir() + "/image.nii.gz", test::colin27_crop_dir() + "/labels.nii.gz");
  const auto res = test::run_medsam("prep " + cfg + " --output " + dir + "/out --dry-run");
  REQUIRE(res.exit_code == 0);
  CHECK_THAT(res.out, Catch::Contains("dry run") && Catch::Contains("samples (slices):"));
  CHECK_FALSE(fs::exists(dir + "/out"));
}

TEST_CASE("prep config errors name the file and key, --help explains the format", "[data][prep]") {
  const auto dir = test::temp_dir("prep_bad_cfg");
  std::ofstream(dir + "/bad.yaml") << "dataset:\n  name: x\n  images: a\n  labels: b\n  modality: sonar\n";
  const auto res = test::run_medsam("prep " + dir + "/bad.yaml --output " + dir + "/out");
  CHECK(res.exit_code == 2);
  CHECK_THAT(res.err, Catch::Contains("bad.yaml") && Catch::Contains("dataset.modality"));
  // A malformed merge_labels entry stops the run before any case (it used to skip every case as "stoi").
  std::ofstream(dir + "/merge.yaml") << "dataset:\n  name: x\n  images: a\n  labels: b\n  modality: mr\n"
                                        "  merge_labels: ['1:2', '3:liver']\n";
  const auto merge = test::run_medsam("prep " + dir + "/merge.yaml --output " + dir + "/out");
  CHECK(merge.exit_code == 2);
  CHECK_THAT(merge.err, Catch::Contains("merge.yaml:6: dataset.merge_labels: entry '3:liver' is not 'from:to'"));
  CHECK_FALSE(fs::exists(dir + "/out/manifest.json"));
  // NaN fractions passed every comparison (NaN < 0 and |NaN - 1| > 1e-6 are both false).
  std::ofstream(dir + "/ok.yaml") << "dataset:\n  name: x\n  images: a\n  labels: b\n  modality: mr\n";
  const auto nan = test::run_medsam("prep " + dir + "/ok.yaml --output " + dir + "/out --set 'split.fractions=[.nan, 0.5, 0.5]'");
  CHECK(nan.exit_code == 2);
  CHECK_THAT(nan.err, Catch::Contains("key 'split.fractions' must hold finite numbers"));
  const auto help = test::run_medsam("prep --help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("WebDataset") && Catch::Contains("--dry-run"));
}

TEST_CASE("merge_labels maps every entry at once from the labels as read and refuses a label mapped twice",
          "[data][prep]") {
  prep::DatasetSection d;
  d.merge_labels = {"1:2", "2:3", "7:0"};
  at::Tensor labels = torch::tensor({0, 1, 2, 3, 7, 9}, torch::kInt);
  prep::map_labels(labels, d);
  CHECK(torch::equal(labels, torch::tensor({0, 2, 3, 3, 0, 9}, torch::kInt)));
  CHECK_THROWS_WITH(prep::parse_label_merges({"1:2", "1:4"}), Catch::Contains("maps label 1 a second time"));
  CHECK_THROWS_WITH(prep::parse_label_merges({"4:5x"}), Catch::Contains("'4:5x' is not 'from:to'"));
}

TEST_CASE("label names files: mricron's '<id> <name>' lines and ITK-SNAP's quoted names", "[data][prep]") {
  const auto dir = test::temp_dir("label_names");
  std::ofstream(dir + "/itksnap.txt") << "# ITK-SnAP Label Description File\n"
                                         "    0     0    0    0        0  0  0    \"Clear Label\"\n"
                                         "    1   255    0    0        1  1  1    \"Liver\"\n"
                                         "    2     0  255    0        1  1  1    \"Portal vein\"\n";
  std::ofstream(dir + "/mricron.txt") << "1 Precentral_L 2001\n2 Precentral_R 2002\n";
  prep::DatasetSection d;
  const auto snap = prep::load_label_names(d, dir + "/itksnap.txt");
  CHECK(snap.at(1) == "Liver");
  CHECK(snap.at(2) == "Portal vein");
  const auto cron = prep::load_label_names(d, dir + "/mricron.txt");
  CHECK(cron.at(2) == "Precentral_R");
  std::ofstream(dir + "/open.txt") << "3 0 0 255 1 1 1 \"Kidney\n";
  CHECK_THROWS_WITH(prep::load_label_names(d, dir + "/open.txt"), Catch::Contains("open.txt:1") && Catch::Contains("closing"));
}

TEST_CASE("instance_labels splits a label into its connected components, numbered as MedSAM's tumor_id block",
          "[data][prep]") {
  prep::DatasetSection d;
  d.instance_labels = {3};
  // (z, y, x): label 1 elsewhere; label 3 in two blobs, the first made of two voxels touching at a corner
  // only (one component with 26-connectivity).
  at::Tensor labels = torch::zeros({3, 4, 4}, torch::kInt);
  labels[0][3][3] = 1;
  labels[0][0][0] = 3;
  labels[1][1][1] = 3;  // corner neighbour of (0, 0, 0)
  labels[2][3][0] = 3;  // a blob of its own
  prep::map_labels(labels, d);
  // Others' max is 1, so the reference's ids are 1 + 1 + k: 3 for the first blob (raster order), 4 next.
  CHECK(labels[0][0][0].item<int>() == 3);
  CHECK(labels[1][1][1].item<int>() == 3);
  CHECK(labels[2][3][0].item<int>() == 4);
  CHECK(labels[0][3][3].item<int>() == 1);
  CHECK((labels > 0).sum().item<int>() == 4);

  // 2D maps: 8-connected; a new id equal to the split label is not mistaken for an unvisited voxel.
  d.instance_labels = {5};
  at::Tensor flat = torch::zeros({4, 6}, torch::kInt);
  flat[0][0] = 5;
  flat[1][1] = 5;  // diagonal: same component
  flat[3][2] = 5;
  flat[3][5] = 5;
  flat[2][5] = 2;  // others' max 2: ids 4, 5, 6
  prep::map_labels(flat, d);
  CHECK(flat[0][0].item<int>() == 4);
  CHECK(flat[1][1].item<int>() == 4);
  CHECK(flat[3][2].item<int>() == 5);
  CHECK(flat[3][5].item<int>() == 6);
  CHECK(flat[2][5].item<int>() == 2);

  prep::PrepConfig bad;
  bad.dataset.name = "d";
  bad.dataset.images = "x";
  bad.dataset.labels = "y";
  bad.dataset.instance_labels = {0};
  CHECK_THROWS_WITH(bad.validate("d.yaml"), Catch::Contains("dataset.instance_labels"));
}

// `medsam prep` on inputs other than volumes: MedSAM's npy folders, MedSAM/CVPR .npz files (2D and
// 3D), and 2D image + mask folders (real PNG brain slices with a mask from the ITK examples).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "medsam/data/components.h"
#include "medsam/data/intensity.h"
#include "medsam/data/manifest.h"
#include "medsam/data/resize.h"
#include "medsam/data/shard_reader.h"
#include "medsam/io/image.h"
#include "medsam/io/npy.h"
#include "medsam/io/volume.h"
#include "tests/io/dicom_series.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"
#include "tests/support/fixtures.h"

namespace fs = std::filesystem;
using namespace medsam;

namespace {

const std::string kItkData = "/usr/share/doc/insighttoolkit5-examples/examples/Data";

std::string write_config(const std::string& dir, const std::string& body) {
  const auto path = dir + "/ds.yaml";
  std::ofstream(path) << body << "output:\n  image_size: 64\nsplit:\n  mode: none\n";
  return path;
}

// Every sample of a prepared folder's single train shard, by case name.
std::map<std::string, data::ShardSample> read_all(const std::string& out) {
  const auto m = data::Manifest::load(out + "/manifest.json");
  REQUIRE(m.complete);
  REQUIRE(m.shards.size() == 1);
  data::ShardReader reader(out + "/" + m.shards[0].info.name);
  CHECK(reader.verify());
  std::map<std::string, data::ShardSample> by_key;
  for (size_t i = 0; i < reader.size(); ++i) {
    const auto& rec = reader.index().samples[i];
    by_key[std::string(reader.index().case_name(rec)) + "/" + std::to_string(rec.slice)] = reader.read(i);
  }
  return by_key;
}

// Nearest-exact (half-pixel centres) resize of a label map, computed independently of resize_labels.
at::Tensor nearest(const at::Tensor& labels, int64_t size) {
  const auto h = labels.size(0), w = labels.size(1);
  const auto rows = ((torch::arange(size).to(torch::kDouble) + 0.5) * h / size).floor().to(torch::kLong);
  const auto cols = ((torch::arange(size).to(torch::kDouble) + 0.5) * w / size).floor().to(torch::kLong);
  return labels.index_select(0, rows).index_select(1, cols).to(torch::kInt);
}

}  // namespace

TEST_CASE("prep imports MedSAM's npy folders: [0, 1] float images x255, labels exact", "[data][prep]") {
  MEDSAM_NEEDS_ITK("the Colin27 NIfTI crop");
  const auto dir = test::temp_dir("prep_npy");
  fs::create_directories(dir + "/npy/imgs");
  fs::create_directories(dir + "/npy/gts");
  const auto img = io::read_volume(test::colin27_crop_dir() + "/image.nii.gz").data;   // (12, 48, 40) uint8
  const auto lab = io::read_volume(test::colin27_crop_dir() + "/labels.nii.gz").data;  // AAL ids
  for (int z : {3, 5, 7}) {
    // MedSAM's layout: imgs/<case>-<slice>.npy float64 (H, W, 3) in [0, 1], gts/<same>.npy uint8 (H, W)
    const std::string name = "colin-" + std::to_string(z);
    write_npy(dir + "/npy/imgs/" + name + ".npy",
              (img[z].to(torch::kDouble) / 255.0).unsqueeze(-1).repeat({1, 1, 3}).contiguous());
    write_npy(dir + "/npy/gts/" + name + ".npy", lab[z].contiguous());
  }
  const auto cfg = write_config(dir, "dataset:\n  name: medsam_npy\n  kind: npy\n  modality: mr\n  images: npy/imgs\n"
                                     "  labels: npy/gts\ncleanup:\n  min_component_2d: 0\n");
  const auto res = test::run_medsam("prep " + cfg + " --output " + dir + "/out");
  INFO(res.err);
  REQUIRE(res.exit_code == 0);
  const auto samples = read_all(dir + "/out");
  REQUIRE(samples.size() == 3);
  for (int z : {3, 5, 7}) {
    INFO("slice " << z);
    const auto& s = samples.at("colin-" + std::to_string(z) + "/0");
    CHECK(s.image.size(2) == 1);  // three equal channels are stored once
    CHECK(s.image.select(2, 0).equal(data::resize_image(img[z], 64, 64)));  // round(x * 255) gives back img
    CHECK(s.labels.equal(nearest(lab[z], 64)));
    CHECK_THAT(s.json, Catch::Contains("x255 of [0, 1] floats"));
  }
}

TEST_CASE("prep imports .npz files: 3D imgs/gts slice by slice, 2D ones whole, a file without gts skipped",
          "[data][prep]") {
  MEDSAM_NEEDS_ITK("the Colin27 NIfTI crop");
  const auto dir = test::temp_dir("prep_npz");
  fs::create_directories(dir + "/npz");
  const auto img = io::read_volume(test::colin27_crop_dir() + "/image.nii.gz").data;
  const auto lab = io::read_volume(test::colin27_crop_dir() + "/labels.nii.gz").data;
  write_npz(dir + "/npz/vol.npz", {{"imgs", img}, {"gts", lab}, {"spacing", torch::ones({3}, torch::kDouble)}});
  write_npz(dir + "/npz/one.npz", {{"imgs", img[6].unsqueeze(-1).repeat({1, 1, 3}).contiguous()}, {"gts", lab[6]}});
  write_npz(dir + "/npz/broken.npz", {{"imgs", img}});
  const auto cfg = write_config(dir, "dataset:\n  name: cvpr\n  kind: npz\n  modality: mr\n  images: npz\n"
                                     "cleanup:\n  min_component_3d: 0\n  min_component_2d: 0\n");
  const auto res = test::run_medsam("prep " + cfg + " --output " + dir + "/out");
  INFO(res.err);
  REQUIRE(res.exit_code == 0);
  CHECK_THAT(res.out, Catch::Contains("skipped cvpr/broken: ") && Catch::Contains("no 'gts' array"));

  const auto samples = read_all(dir + "/out");
  int64_t labelled = 0;
  for (int64_t z = 0; z < lab.size(0); ++z) {
    if (lab[z].max().item<int>() == 0) continue;
    ++labelled;
    INFO("slice " << z);
    const auto& s = samples.at("vol/" + std::to_string(z));
    CHECK(s.image.select(2, 0).equal(data::resize_image(img[z], 64, 64)));  // uint8 is stored as is
    CHECK(s.labels.equal(nearest(lab[z], 64)));
  }
  REQUIRE(labelled > 5);
  CHECK(static_cast<int64_t>(samples.size()) == labelled + 1);
  const auto& one = samples.at("one/0");
  CHECK(one.image.select(2, 0).equal(data::resize_image(img[6], 64, 64)));
  CHECK(one.labels.equal(nearest(lab[6], 64)));
}

TEST_CASE("prep pairs 2D image and mask folders by name (ITK example brain slices, binary masks)", "[data][prep]") {
  const std::string image = kItkData + "/BrainProtonDensitySliceBorder20.png";
  const std::string mask = kItkData + "/BrainProtonDensitySliceBorder20Mask.png";
  if (!MEDSAM_HAVE_ITK && !fs::exists(image)) MEDSAM_SKIP("needs insighttoolkit5-examples' PNGs (installed with ITK)");
  REQUIRE(fs::exists(image));  // insighttoolkit5-examples (scripts/setup-deps installs it)
  const auto dir = test::temp_dir("prep_2d");
  fs::create_directories(dir + "/images");
  fs::create_directories(dir + "/masks");
  // Two cases sharing the mask (both slices are 221 x 257 and aligned), one image without a mask.
  fs::copy_file(image, dir + "/images/pd.png");
  fs::copy_file(kItkData + "/BrainT1SliceBorder20.png", dir + "/images/t1.png");
  fs::copy_file(kItkData + "/BrainProtonDensitySliceShifted13x17y.png", dir + "/images/orphan.png");
  fs::copy_file(mask, dir + "/masks/pd_mask.png");
  fs::copy_file(mask, dir + "/masks/t1_mask.png");
  // A case name too long for the shards' tar member names: skipped with its reason, the run goes on.
  const std::string long_name(120, 'n');
  fs::copy_file(image, dir + "/images/" + long_name + ".png");
  fs::copy_file(mask, dir + "/masks/" + long_name + "_mask.png");
  const auto cfg = write_config(dir, "dataset:\n  name: itk\n  kind: images_2d\n  modality: mr\n  images: images\n"
                                     "  labels: masks\n  label_suffix: _mask\n  binary_masks: true\n");
  const auto res = test::run_medsam("prep " + cfg + " --output " + dir + "/out");
  INFO(res.err);
  REQUIRE(res.exit_code == 0);
  CHECK_THAT(res.out, Catch::Contains("skipped itk/orphan: ") && Catch::Contains("no matching mask file"));
  CHECK_THAT(res.out, Catch::Contains("skipped itk/" + long_name) && Catch::Contains("too long for ustar"));

  // No component cleanup for 2D images unless configured (MedSAM's pre_grey_rgb.py removes nothing).
  const auto expected_labels = (io::read_image(mask).select(2, 0) > 0).to(torch::kInt).contiguous();
  REQUIRE(expected_labels.sum().item<int64_t>() > 1000);
  const auto samples = read_all(dir + "/out");
  REQUIRE(samples.size() == 2);
  for (const char* name : {"pd", "t1"}) {
    INFO(name);
    const auto& s = samples.at(std::string(name) + "/0");
    // (257, 221, 3) uint8: the PNGs have a grey palette, so R = G = B, stored as one grey channel.
    const auto src = io::read_image(dir + "/images/" + name + ".png");
    REQUIRE(src.size(2) == 3);
    REQUIRE((src.select(2, 0).equal(src.select(2, 1)) && src.select(2, 0).equal(src.select(2, 2))));
    CHECK(s.image.size(2) == 1);
    CHECK(s.image.select(2, 0).equal(data::resize_image(src.select(2, 0).contiguous(), 64, 64)));
    CHECK(s.labels.equal(nearest(expected_labels, 64)));
    CHECK(s.labels.max().item<int>() == 1);
    CHECK_THAT(s.json, Catch::Contains("\"original_size\":[257,221]"));
  }
}

TEST_CASE("prep reads a single-file DICOM CT slice as a 2D image and applies the CT window", "[data][prep]") {
  MEDSAM_NEEDS_ITK("DICOM");
  const std::string dcm = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm";
  REQUIRE(fs::exists(dcm));  // python3-pydicom's test files (scripts/setup-deps installs it)
  const auto dir = test::temp_dir("prep_dicom");
  fs::create_directories(dir + "/images");
  fs::create_directories(dir + "/masks");
  fs::copy_file(dcm, dir + "/images/ct.dcm");
  // The slice in Hounsfield units (ITK applies the rescale); the mask: soft tissue and brighter.
  const auto hu = io::read_volume(dcm).data;  // (1, 128, 128)
  REQUIRE(hu.sizes() == at::IntArrayRef({1, 128, 128}));
  const auto mask = (hu[0] > 0).to(torch::kByte).contiguous();
  REQUIRE(mask.sum().item<int64_t>() > 1000);
  io::write_image(dir + "/masks/ct.png", mask);
  const auto cfg = write_config(dir, "dataset:\n  name: dicom\n  kind: images_2d\n  modality: ct\n  images: images\n"
                                     "  labels: masks\n");
  const auto res = test::run_medsam("prep " + cfg + " --output " + dir + "/out");
  INFO(res.err);
  REQUIRE(res.exit_code == 0);
  const auto samples = read_all(dir + "/out");
  REQUIRE(samples.size() == 1);
  const auto& s = samples.at("ct/0");
  const auto windowed = data::normalize_ct_window(hu[0], {40, 400});  // soft tissue, MedSAM's CT default
  CHECK(s.image.select(2, 0).equal(data::resize_image(windowed, 64, 64)));
  const auto labels = mask.to(torch::kInt);  // no cleanup of 2D images by default
  CHECK(s.labels.equal(nearest(labels, 64)));
  // The resolved defaults are what prep_config.yaml records: none for images_2d.
  std::ifstream saved(dir + "/out/prep_config.yaml");
  const std::string yaml((std::istreambuf_iterator<char>(saved)), std::istreambuf_iterator<char>());
  CHECK_THAT(yaml, Catch::Contains("min_component_2d: 0") && Catch::Contains("min_component_3d: 0"));
  CHECK_THAT(s.json, Catch::Contains("ct window L40 W400"));
}

TEST_CASE("prep reads a folder of DICOM series with NIfTI labels: CT window, slice order, geometry checked",
          "[data][prep]") {
  MEDSAM_NEEDS_ITK("DICOM series (GDCM) and NIfTI");
  const auto& series = test::dicom_series();
  if (!series.error.empty()) FAIL(series.error);
  if (series.dir.empty()) MEDSAM_SKIP("needs python3 with pydicom and numpy (scripts/setup-deps)");
  const auto dir = test::temp_dir("prep_dicom_series");
  // images: a folder whose subfolders are series (one case each, named after the folder)
  fs::create_directories(dir + "/images");
  fs::create_directories(dir + "/labels");
  fs::copy(series.dir, dir + "/images/patient1");
  const io::Volume ct = io::read_volume(dir + "/images/patient1");
  REQUIRE(ct.data.sizes() == at::IntArrayRef({10, 24, 32}));
  // Labels on the series' grid and geometry: an organ block on slices 2..8 and a 27-voxel speck (3D dust).
  io::Volume lab{torch::zeros({10, 24, 32}, at::kByte), ct.geometry};
  lab.data.slice(0, 2, 9).slice(1, 4, 20).slice(2, 6, 28).fill_(1);
  lab.data.slice(0, 0, 3).slice(1, 0, 3).slice(2, 0, 3).fill_(2);
  io::write_volume(dir + "/labels/patient1.nii.gz", lab);
  const auto cfg = write_config(dir, "dataset:\n  name: series\n  modality: ct\n  images: images\n  labels: labels\n");
  const auto res = test::run_medsam("prep " + cfg + " --output " + dir + "/out");
  INFO(res.out << res.err);
  REQUIRE(res.exit_code == 0);

  const auto samples = read_all(dir + "/out");
  CHECK(samples.size() == 7);  // slices 2..8; the speck was dropped, so slices 0, 1 have no label left
  // The window, then min-max over the whole clipped volume (pre_CT_MR.py), in slice-position order.
  const auto windowed_volume = data::normalize_ct_window(test::dicom_series_expected_hu(), {40, 400});
  for (int64_t z = 2; z <= 8; ++z) {
    INFO("slice " << z);
    const auto it = samples.find("patient1/" + std::to_string(z));
    REQUIRE(it != samples.end());
    const auto& s = it->second;
    CHECK(s.image.select(2, 0).equal(data::resize_image(windowed_volume[z], 64, 64)));
    CHECK(s.labels.equal(nearest((lab.data[z] == 1).to(torch::kInt), 64)));
    CHECK_THAT(s.json, Catch::Contains("\"spacing\":[0.8") && Catch::Contains("ct window L40 W400"));
  }

  // Labels whose geometry disagrees with the series: the case is skipped with the reason, naming both.
  io::Volume shifted = lab;
  shifted.geometry.origin[0] += 5.0;
  io::write_volume(dir + "/labels/patient1.nii.gz", shifted);
  const auto bad = test::run_medsam("prep " + cfg + " --output " + dir + "/out2");
  INFO(bad.err);
  CHECK_THAT(bad.err, Catch::Contains("skipping series/patient1") && Catch::Contains("origin differs") &&
                          Catch::Contains("images/patient1"));
  const auto m = data::Manifest::load(dir + "/out2/manifest.json");
  CHECK(m.skipped.size() == 1);
  CHECK(m.done_cases.empty());
}

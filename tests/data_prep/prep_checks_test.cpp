// What prep refuses, or warns about, instead of converting quietly into wrong samples: volumes cut
// short, colour masks, colour images under a grey intensity rule, label values that are not ids, case
// names that clash once sanitised, a second run into a folder in use, CT windows on uint8 data.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>

#include <unistd.h>

#include "data_prep/cases.h"
#include "data_prep/convert_case.h"
#include "data_prep/labels.h"
#include "data_prep/output_lock.h"
#include "data_prep/prep_config.h"
#include "data_prep/prep_run.h"
#include "medsam/core/error.h"
#include "medsam/data/checksum.h"
#include "medsam/data/manifest.h"
#include "medsam/io/image.h"
#include "medsam/io/volume.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"
#include "tests/support/stderr_capture.h"

namespace fs = std::filesystem;
using namespace medsam;

namespace {

// DIR/ds.yaml with `dataset_lines` in its dataset section (name checks, split none, 32-pixel output).
prep::PrepConfig checks_config(const std::string& dir, const std::string& dataset_lines,
                               const std::string& sections = "") {
  const auto path = dir + "/ds.yaml";
  std::ofstream(path) << "dataset:\n  name: checks\n" << dataset_lines
                      << "output:\n  image_size: 32\nsplit:\n  mode: none\n" << sections;
  return prep::load_prep_config(path, {});
}

// Converts one 2D case in process (what a prep worker does), so a refusal comes back as the Error.
prep::CaseOutput convert_2d_pair(const prep::PrepConfig& cfg, const std::string& image, const std::string& mask) {
  static const std::map<int, std::string> no_names;
  prep::CaseContext ctx{&cfg, 0, &no_names, data::Split::kTrain};
  return prep::convert_image2d_case({"case", image, mask}, ctx);
}

// A 16 x 16 uint8 grey ramp and a mask with labels 1 and 2 in two blocks.
at::Tensor grey_ramp_16() { return (torch::arange(256).reshape({16, 16}) % 200 + 20).to(torch::kByte); }
at::Tensor two_label_mask_16() {
  auto m = torch::zeros({16, 16}, torch::kByte);
  m.slice(0, 2, 6).slice(1, 2, 6).fill_(1);
  m.slice(0, 9, 14).slice(1, 8, 14).fill_(2);
  return m;
}

at::Tensor as_rgb(const at::Tensor& grey) { return grey.unsqueeze(2).repeat({1, 1, 3}).contiguous(); }

// A (4, 32, 32) int16 image, and labels of `dtype` holding a 2 x 16 x 16 block of label 1.
io::Volume checks_image_volume() { return {torch::arange(4 * 32 * 32).reshape({4, 32, 32}).to(torch::kShort), {}}; }
io::Volume checks_label_volume(at::ScalarType dtype) {
  auto lab = torch::zeros({4, 32, 32}, dtype);
  lab.slice(0, 1, 3).slice(1, 8, 24).slice(2, 8, 24).fill_(1);
  return {lab, {}};
}

void cut_file_end(const std::string& path, std::uintmax_t bytes) {
  fs::resize_file(path, fs::file_size(path) - bytes);
}

}  // namespace

TEST_CASE("prep skips a case whose image or label volume is cut short, naming the file", "[data][prep]") {
  MEDSAM_NEEDS_ITK("NIfTI and MetaImage");
  const auto dir = test::temp_dir("prep_cut_short");
  fs::create_directories(dir + "/img");
  fs::create_directories(dir + "/lab");
  const auto image = checks_image_volume();
  const auto labels = checks_label_volume(torch::kByte);
  // Each case cuts one file: image or label, .nii / .nii.gz / .mha.
  const std::map<std::string, std::pair<std::string, std::string>> cases = {
      {"ok", {".nii.gz", ".nii.gz"}},         {"img_nii", {".nii", ".nii.gz"}}, {"lab_nii", {".nii.gz", ".nii"}},
      {"img_gz", {".nii.gz", ".nii.gz"}},     {"lab_gz", {".nii.gz", ".nii.gz"}},
      {"img_mha", {".mha", ".nii.gz"}},       {"lab_mha", {".nii.gz", ".mha"}}};
  for (const auto& [name, ext] : cases) {
    io::write_volume(dir + "/img/" + name + ext.first, image);
    io::write_volume(dir + "/lab/" + name + ext.second, labels);
  }
  // 50 bytes off a .nii; 12 off the compressed ones: the 8-byte gzip trailer (4-byte zlib one) and some data,
  // while the header, at the start of the stream, stays readable.
  for (const char* cut : {"/img/img_nii.nii", "/lab/lab_nii.nii"}) cut_file_end(dir + cut, 50);
  for (const char* cut : {"/img/img_gz.nii.gz", "/img/img_mha.mha", "/lab/lab_gz.nii.gz", "/lab/lab_mha.mha"})
    cut_file_end(dir + cut, 12);
  auto cfg = checks_config(dir, "  modality: mr\n  images: img\n  labels: lab\n",
                           "cleanup:\n  min_component_3d: 0\n  min_component_2d: 0\n");
  prep::PrepOptions opt;
  opt.output = dir + "/out";
  const auto summary = prep::run_prep({cfg}, opt);
  CHECK(summary.cases_converted == 1);
  const auto m = data::Manifest::load(dir + "/out/manifest.json");
  CHECK(m.done_cases == std::vector<std::string>{"checks/ok"});
  std::map<std::string, std::string> why(m.skipped.begin(), m.skipped.end());
  REQUIRE(why.size() == 6);
  CHECK_THAT(why["checks/img_nii"], Catch::Contains(dir + "/img/img_nii.nii: cut short"));
  CHECK_THAT(why["checks/lab_nii"], Catch::Contains(dir + "/lab/lab_nii.nii: cut short"));
  CHECK_THAT(why["checks/img_gz"], Catch::Contains(dir + "/img/img_gz.nii.gz: the gzip data ends early"));
  CHECK_THAT(why["checks/lab_gz"], Catch::Contains(dir + "/lab/lab_gz.nii.gz: the gzip data ends early"));
  CHECK_THAT(why["checks/img_mha"], Catch::Contains(dir + "/img/img_mha.mha: the compressed data ends early"));
  CHECK_THAT(why["checks/lab_mha"], Catch::Contains(dir + "/lab/lab_mha.mha: the compressed data ends early"));
  // 4 x 32 x 32 voxels: int16 images 8192 bytes, uint8 labels 4096.
  CHECK_THAT(why["checks/img_nii"], Catch::Contains("of its 8192 bytes of voxel data"));
  CHECK_THAT(why["checks/lab_nii"], Catch::Contains("4046 of its 4096 bytes of voxel data"));
}

TEST_CASE("a colour mask is refused naming a pixel whose channels differ, a grey mask saved as RGB(A) converts",
          "[data][prep]") {
  const auto dir = test::temp_dir("prep_colour_mask");
  io::write_image(dir + "/image.png", grey_ramp_16());
  const auto cfg = checks_config(dir, "  kind: images_2d\n  modality: xray\n  images: image.png\n  labels: m.png\n");
  // RGB and RGBA masks whose colour channels agree hold ids as grey: both labels come through.
  auto rgba = torch::cat({as_rgb(two_label_mask_16()), torch::full({16, 16, 1}, 255, torch::kByte)}, 2).contiguous();
  for (const auto& [name, mask] :
       {std::pair{"/grey_rgb.png", as_rgb(two_label_mask_16())}, std::pair{"/grey_rgba.png", rgba}}) {
    INFO(name);
    io::write_image(dir + name, mask);
    const auto out = convert_2d_pair(cfg, dir + "/image.png", dir + name);
    REQUIRE(out.samples.size() == 1);
    REQUIRE(out.samples[0].objects.size() == 2);
    CHECK(out.samples[0].objects[1].label == 2);
  }
  // A colour mask whose R and G agree everywhere (the old check compared only those two): blue differs
  // at row 3, col 5, so keeping R would lose that label.
  auto colour = as_rgb(two_label_mask_16());
  colour[3][5][2] = 7;
  io::write_image(dir + "/colour.png", colour);
  CHECK_THROWS_WITH(convert_2d_pair(cfg, dir + "/image.png", dir + "/colour.png"),
                    Catch::Contains(dir + "/colour.png: a colour mask: pixel (row 3, col 5) holds R, G, B = 1, 1, 7") &&
                        Catch::Contains("single-channel grey/index image"));
}

TEST_CASE("an RGB image with equal channels gets the grey intensity rule, a colour one refuses mode percentile",
          "[data][prep]") {
  const auto dir = test::temp_dir("prep_rgb_percentile");
  io::write_image(dir + "/grey_rgb.png", as_rgb(grey_ramp_16()));
  auto colour = as_rgb(grey_ramp_16());
  colour.select(2, 0).fill_(250);
  io::write_image(dir + "/colour.png", colour);
  io::write_image(dir + "/mask.png", two_label_mask_16());
  const auto cfg = checks_config(dir, "  kind: images_2d\n  modality: xray\n  images: a.png\n  labels: m.png\n",
                                 "intensity:\n  mode: percentile\n");
  const auto out = convert_2d_pair(cfg, dir + "/grey_rgb.png", dir + "/mask.png");
  REQUIRE(out.samples.size() == 1);
  CHECK(out.samples[0].channels == 1);  // stored grey, as npy imports store three equal channels
  CHECK_THAT(out.samples[0].json, Catch::Contains("percentile 0.5-99.5"));
  CHECK_THROWS_WITH(convert_2d_pair(cfg, dir + "/colour.png", dir + "/mask.png"),
                    Catch::Contains(dir + "/colour.png: a colour image") &&
                        Catch::Contains("intensity.mode: percentile applies to grey images only"));
  // Mode auto keeps MedSAM's 2D rule for the colour image (uint8 as it is, three channels).
  const auto auto_cfg = checks_config(dir, "  kind: images_2d\n  modality: xray\n  images: a.png\n  labels: m.png\n");
  CHECK(convert_2d_pair(auto_cfg, dir + "/colour.png", dir + "/mask.png").samples[0].channels == 3);
}

TEST_CASE("label values that are NaN, fractional or beyond any id are refused naming the file, count or value",
          "[data][prep]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(prep::to_label_ids(torch::tensor({0.0, nan, 1.0, nan}), "lab.nii"),
                    Catch::Contains("lab.nii: 2 of 4 label values are NaN or infinite"));
  CHECK_THROWS_WITH(prep::to_label_ids(torch::tensor({0.0, 0.5}), "lab.nii"),
                    Catch::Contains("lab.nii: label values are not integers (e.g. 0.5)"));
  // int64 4294967297 = 2^32 + 1 used to wrap to label 1; as a float64 value it is refused alike.
  CHECK_THROWS_WITH(prep::to_label_ids(torch::tensor({int64_t{0}, int64_t{4294967297}}), "big.nii"),
                    Catch::Contains("big.nii: label value 4294967297 is outside the supported ids 0..65535"));
  CHECK_THROWS_WITH(prep::to_label_ids(torch::tensor({0.0, 4294967297.0}, torch::kDouble), "big.nii"),
                    Catch::Contains("label value 4294967297 is outside"));
  CHECK(prep::to_label_ids(torch::tensor({0.0, 3.0}), "ok").equal(torch::tensor({0, 3}, torch::kInt)));
  prep::DatasetSection d;
  CHECK_THROWS_WITH(prep::check_label_range(torch::tensor({0, 70000}, torch::kInt), "lab.png", d),
                    Catch::Contains("lab.png: label value 70000 is outside the supported ids 0..65535"));
  d.drop_labels = {-1};
  CHECK_NOTHROW(prep::check_label_range(torch::tensor({0, 65535}, torch::kInt), "lab.png", d));
}

TEST_CASE("volume and 2D label files with NaN or fractional values are refused naming the file", "[data][prep]") {
  MEDSAM_NEEDS_ITK("NIfTI");
  const auto dir = test::temp_dir("prep_label_values");
  io::write_volume(dir + "/image.nii.gz", checks_image_volume());
  auto nan_labels = checks_label_volume(torch::kFloat);
  nan_labels.data[0][0][0] = std::numeric_limits<float>::quiet_NaN();  // used to become background
  io::write_volume(dir + "/nan.nii.gz", nan_labels);
  const auto cfg = checks_config(dir, "  modality: mr\n  images: image.nii.gz\n  labels: nan.nii.gz\n");
  static const std::map<int, std::string> no_names;
  prep::CaseContext ctx{&cfg, 0, &no_names, data::Split::kTrain};
  CHECK_THROWS_WITH(prep::convert_volume_case({"v", dir + "/image.nii.gz", dir + "/nan.nii.gz"}, ctx),
                    Catch::Contains(dir + "/nan.nii.gz: 1 of 4096 label values are NaN or infinite"));

  // A 2D float mask (a one-slice NIfTI) with 0.5 used to be truncated to 0 by the cast.
  io::write_volume(dir + "/slice.nii", {grey_ramp_16().to(torch::kFloat).unsqueeze(0), {}});
  auto half = two_label_mask_16().to(torch::kFloat);
  half[4][4] = 0.5;
  io::write_volume(dir + "/half.nii", {half.unsqueeze(0), {}});
  const auto cfg2d = checks_config(dir, "  kind: images_2d\n  modality: mr\n  images: slice.nii\n  labels: half.nii\n");
  CHECK_THROWS_WITH(convert_2d_pair(cfg2d, dir + "/slice.nii", dir + "/half.nii"),
                    Catch::Contains(dir + "/half.nii: label values are not integers (e.g. 0.5)"));
}

TEST_CASE("two file names that sanitise to one case name get a hash of each original, other names stay",
          "[data][prep]") {
  const auto dir = test::temp_dir("prep_name_clash");
  fs::create_directories(dir + "/images");
  fs::create_directories(dir + "/masks");
  // Two Chinese names (liver, kidney) in UTF-8: 6 bytes each, all outside ASCII.
  const std::string liver = "\xe8\x82\x9d\xe8\x84\x8f", kidney = "\xe8\x82\xbe\xe8\x84\x8f";
  for (const auto& name : {liver, kidney, std::string("plain")}) {
    std::ofstream(dir + "/images/" + name + ".png") << "x";
    std::ofstream(dir + "/masks/" + name + ".png") << "x";
  }
  const auto cfg = checks_config(dir, "  kind: images_2d\n  images: images\n  labels: masks\n");
  const auto cases = prep::find_cases(cfg);
  REQUIRE(cases.size() == 3);
  const auto hash = [](const std::string& s) {
    return fmt::format("{:06x}", data::crc32_update(0, s.data(), s.size()) & 0xffffff);
  };
  std::map<std::string, std::string> image_of;
  for (const auto& c : cases) image_of[c.name] = c.image;
  CHECK(image_of.at("plain") == dir + "/images/plain.png");  // no clash: the name it always had
  CHECK(image_of.at("______" + std::string("_") + hash(liver)) == dir + "/images/" + liver + ".png");
  CHECK(image_of.at("______" + std::string("_") + hash(kidney)) == dir + "/images/" + kidney + ".png");
  // The same name twice (two extensions) still clashes, and is refused.
  std::ofstream(dir + "/images/plain.jpg") << "x";
  CHECK_THROWS_WITH(prep::find_cases(cfg), Catch::Contains("two images give the same case name 'plain'"));
}

TEST_CASE("prep refuses an output folder another prep holds, naming the folder and the holder's pid",
          "[data][prep]") {
  const auto dir = test::temp_dir("prep_lock");
  io::write_image(dir + "/a.png", grey_ramp_16());
  io::write_image(dir + "/a_mask.png", two_label_mask_16());
  auto cfg = checks_config(dir, "  kind: images_2d\n  modality: xray\n  images: a.png\n  labels: a_mask.png\n");
  prep::PrepOptions opt;
  opt.output = dir + "/out";
  fs::create_directories(opt.output);
  const auto pid = std::to_string(::getpid());
  {
    // Another run, as far as run_prep can tell: flock locks belong to an open file, not to a process.
    prep::OutputLock other(opt.output);
    CHECK(test::file_contents(opt.output + "/.prep.lock") == pid + "\n");
    CHECK_THROWS_WITH(prep::run_prep({cfg}, opt),
                      Catch::Contains(opt.output + ": another medsam prep (pid " + pid + ") is writing to this folder"));
    CHECK_FALSE(fs::exists(opt.output + "/manifest.json"));
  }
  CHECK(prep::run_prep({cfg}, opt).cases_converted == 1);
  // The pid is cleared when a run ends, so folders prepared alike stay byte-identical.
  CHECK(test::file_contents(opt.output + "/.prep.lock").empty());
}

TEST_CASE("a CT window on uint8 images is applied with a warning, once per dataset", "[data][prep]") {
  const auto dir = test::temp_dir("prep_uint8_ct");
  fs::create_directories(dir + "/images");
  fs::create_directories(dir + "/masks");
  for (const char* name : {"a", "b", "c"}) {
    io::write_image(dir + "/images/" + name + ".png", grey_ramp_16());
    io::write_image(dir + "/masks/" + name + ".png", two_label_mask_16());
  }
  auto cfg = checks_config(dir, "  kind: images_2d\n  modality: ct\n  images: images\n  labels: masks\n");
  prep::PrepOptions opt;
  opt.output = dir + "/out";
  opt.workers = 2;
  test::StderrCapture capture;
  const auto summary = prep::run_prep({cfg}, opt);
  const auto err = capture.text();
  CHECK(summary.cases_converted == 3);
  CHECK(test::count_occurrences(err, "look already windowed") == 1);
  CHECK_THAT(err, Catch::Contains("dataset checks") && Catch::Contains("CT window L40 W400 is applied to them again"));
}

TEST_CASE("prep skips a case whose labels are stored with other axes than the image, naming both", "[data][prep]") {
  MEDSAM_NEEDS_ITK("NIfTI");
  const auto dir = test::temp_dir("prep_axes");
  fs::create_directories(dir + "/img");
  fs::create_directories(dir + "/lab");
  io::Volume image = checks_image_volume();
  image.geometry.spacing = {0.7, 1.3, 3.0};
  io::Volume labels = checks_label_volume(torch::kByte);
  labels.geometry = image.geometry;
  io::write_volume(dir + "/img/same.nii.gz", image);
  io::write_volume(dir + "/lab/same.nii.gz", labels);
  // Stored with the x axis pointing the other way (the origin and spacing the image's): index-wise its
  // voxels are not the image's.
  io::Volume flipped{labels.data.flip({2}).contiguous(), labels.geometry};
  flipped.geometry.direction[0] = -1;
  io::write_volume(dir + "/img/flip.nii.gz", image);
  io::write_volume(dir + "/lab/flip.nii.gz", flipped);
  auto cfg = checks_config(dir, "  modality: mr\n  images: img\n  labels: lab\n",
                           "cleanup:\n  min_component_3d: 0\n  min_component_2d: 0\n");
  prep::PrepOptions opt;
  opt.output = dir + "/out";
  const auto summary = prep::run_prep({cfg}, opt);
  CHECK(summary.cases_converted == 1);
  const auto m = data::Manifest::load(dir + "/out/manifest.json");
  CHECK(m.done_cases == std::vector<std::string>{"checks/same"});
  REQUIRE(m.skipped.size() == 1);
  CHECK_THAT(m.skipped[0].second, Catch::Contains(dir + "/img/flip.nii.gz") && Catch::Contains(dir + "/lab/flip.nii.gz") &&
                                      Catch::Contains("not on the same grid") && Catch::Contains("the x axis points another way"));
}

TEST_CASE("intensity settings the rule would not read are refused naming them, not ignored", "[data][prep]") {
  const auto dir = test::temp_dir("prep_intensity_keys");
  const std::string mr = "  modality: mr\n  images: img\n  labels: lab\n";
  CHECK_THROWS_WITH(checks_config(dir, mr, "intensity:\n  window: lung\n"),
                    Catch::Contains("intensity.window") && Catch::Contains("read only for CT") &&
                        Catch::Contains("modality mr"));
  CHECK_THROWS_WITH(checks_config(dir, "  modality: ct\n  images: img\n  labels: lab\n", "intensity:\n  level: 9999\n"),
                    Catch::Contains("intensity.level/width") && Catch::Contains("intensity.window: custom"));
  // What is read is accepted: a CT window, a custom level/width, a window with mode window on MR.
  CHECK_NOTHROW(checks_config(dir, "  modality: ct\n  images: img\n  labels: lab\n", "intensity:\n  window: lung\n"));
  CHECK_NOTHROW(checks_config(dir, "  modality: ct\n  images: img\n  labels: lab\n",
                              "intensity:\n  window: custom\n  level: 50\n  width: 350\n"));
  CHECK_NOTHROW(checks_config(dir, mr, "intensity:\n  mode: window\n  window: brain\n"));
}

TEST_CASE("a prep value out of range names the line or the --set that gave it", "[data][prep]") {
  const auto dir = test::temp_dir("prep_origins");
  const auto path = dir + "/ds.yaml";
  std::ofstream(path) << "dataset:\n  name: origins\n  modality: mr\n  images: img\n  labels: lab\n"
                         "output:\n  image_size: 8\n";
  CHECK_THROWS_WITH(prep::load_prep_config(path, {}), Catch::StartsWith(path + ":7: output.image_size: 8 is outside"));
  CHECK_THROWS_WITH(prep::load_prep_config(path, {"output.image_size=5"}),
                    Catch::StartsWith("--set output.image_size=5: output.image_size: 5 is outside"));
  // A key nobody set (a required one left empty) names the file.
  std::ofstream(path) << "dataset:\n  modality: mr\n  images: img\n  labels: lab\n";
  CHECK_THROWS_WITH(prep::load_prep_config(path, {}), Catch::StartsWith(path + ": dataset.name: is required"));
}

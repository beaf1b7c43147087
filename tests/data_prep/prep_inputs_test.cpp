// inputs.tsv: a rerun of prep notices input files edited after their case was converted, and tries a
// skipped case again once its files change.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "data_prep/input_record.h"
#include "medsam/data/manifest.h"
#include "medsam/io/volume.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"

namespace fs = std::filesystem;
using namespace medsam;

namespace {

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// Moves a file's modification time without changing its content (what a copy without -p or a touch does).
void touch_later(const std::string& path) {
  fs::last_write_time(path, fs::last_write_time(path) + std::chrono::seconds(30));
}

std::string write_config(const std::string& dir) {
  const auto path = dir + "/ds.yaml";
  std::ofstream(path) << "dataset:\n  name: colin\n  modality: mr\n  anatomy: brain\n"
                      << "  images: " << dir << "/img\n  labels: " << dir << "/lab\n"
                      << "output:\n  image_size: 32\n  shard_bytes: 1\nsplit:\n  mode: none\n";
  return path;
}

}  // namespace

TEST_CASE("input stamps: a touch is no change, other content or size is, and the label pairing counts",
          "[data][prep]") {
  const auto dir = test::temp_dir("input_stamps");
  write_text(dir + "/img", "image bytes");
  write_text(dir + "/lab", "label bytes");
  const auto rec = prep::stamp_case_inputs("ds/a", dir + "/img", dir + "/lab");
  REQUIRE(rec.image.exists);
  CHECK(rec.image.bytes == 11);
  CHECK(prep::describe_input_change(rec, dir + "/img", dir + "/lab").empty());

  touch_later(dir + "/lab");
  CHECK(prep::describe_input_change(rec, dir + "/img", dir + "/lab").empty());

  write_text(dir + "/lab", "LABEL bytes");  // same size, other content
  CHECK_THAT(prep::describe_input_change(rec, dir + "/img", dir + "/lab"),
             Catch::Contains("labels " + dir + "/lab: same size, other content"));
  write_text(dir + "/img", "image bytes, longer");
  CHECK_THAT(prep::describe_input_change(rec, dir + "/img", dir + "/lab"),
             Catch::Contains("image " + dir + "/img: 19 bytes, 11 when converted"));
  fs::remove(dir + "/img");
  CHECK_THAT(prep::describe_input_change(rec, dir + "/img", dir + "/lab"), Catch::Contains("cannot be read now"));
  CHECK_THAT(prep::describe_input_change(rec, dir + "/img", dir + "/other_lab"), Catch::Contains("label file is now"));
  CHECK_THAT(prep::describe_input_change(rec, dir + "/img", ""), Catch::Contains("no label file is paired"));

  // A DICOM-style folder: any file in it counts.
  fs::create_directories(dir + "/series");
  write_text(dir + "/series/1.dcm", "slice one");
  write_text(dir + "/series/2.dcm", "slice two");
  const auto series = prep::stamp_case_inputs("ds/s", dir + "/series", "");
  CHECK(series.image.bytes == 18);
  CHECK(prep::describe_input_change(series, dir + "/series", "").empty());
  write_text(dir + "/series/2.dcm", "slice 2!!");
  CHECK_THAT(prep::describe_input_change(series, dir + "/series", ""), Catch::Contains("other content"));
}

TEST_CASE("inputs.tsv records round-trip, and a malformed or short file is an error naming it", "[data][prep]") {
  const auto dir = test::temp_dir("input_records");
  write_text(dir + "/img", "pixels");
  auto a = prep::stamp_case_inputs("ds/a", dir + "/img", "");
  auto b = prep::stamp_case_inputs("ds/b", dir + "/missing", dir + "/img");
  const auto path = dir + "/inputs.tsv";
  const auto first = prep::append_input_records(path, prep::format_input_record(a));
  const auto size = prep::append_input_records(path, prep::format_input_record(b));
  CHECK(first < size);
  const auto back = prep::read_input_records(path, size);
  REQUIRE(back.size() == 2);
  CHECK(back.at("ds/a").image.crc32 == a.image.crc32);
  CHECK(back.at("ds/a").image.mtime_ns == a.image.mtime_ns);
  CHECK_FALSE(back.at("ds/a").labels.exists);
  CHECK_FALSE(back.at("ds/b").image.exists);
  CHECK(back.at("ds/b").labels.bytes == 6);
  CHECK(prep::read_input_records(path, first).size() == 1);  // only the committed part is read

  CHECK_THROWS_WITH(prep::read_input_records(path, size + 5), Catch::Contains(path) && Catch::Contains("shorter"));
  write_text(dir + "/bad.tsv", prep::format_input_record(a) + "ds/c\t12\tnoon\t00000000\t00000000\t-\t-\t-\n");
  CHECK_THROWS_WITH(prep::read_input_records(dir + "/bad.tsv", fs::file_size(dir + "/bad.tsv")),
                    Catch::Contains("bad.tsv:2: malformed input record"));
  a.id = "ds/tab\there";
  CHECK_THROWS_WITH(prep::format_input_record(a), Catch::Contains("tab"));
}

TEST_CASE("prep rerun: an edited label file is named instead of 'already complete', and a touch is not an edit",
          "[data][prep]") {
  MEDSAM_NEEDS_ITK("the Colin27 NIfTI crop");
  const auto dir = test::temp_dir("prep_edited_inputs");
  fs::create_directories(dir + "/img");
  fs::create_directories(dir + "/lab");
  for (const char* c : {"a", "b"}) {
    fs::copy_file(test::colin27_crop_dir() + "/image.nii.gz", dir + "/img/" + c + ".nii.gz");
    fs::copy_file(test::colin27_crop_dir() + "/labels.nii.gz", dir + "/lab/" + c + ".nii.gz");
  }
  const auto cfg = write_config(dir);
  const auto out = dir + "/out";
  const auto first = test::run_medsam("prep " + cfg + " --output " + out);
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  auto m = data::Manifest::load(out + "/manifest.json");
  CHECK(m.input_record_bytes == fs::file_size(out + "/inputs.tsv"));
  CHECK(prep::read_input_records(out + "/inputs.tsv", m.input_record_bytes).size() == 2);

  // Copied again (new time, same bytes): still complete.
  touch_later(dir + "/lab/a.nii.gz");
  const auto touched = test::run_medsam("prep " + cfg + " --output " + out);
  CHECK(touched.exit_code == 0);
  CHECK_THAT(touched.out, Catch::Contains("already complete"));

  // A corrected label file (here: b's largest label removed) makes the shards stale.
  auto labels = io::read_volume(dir + "/lab/b.nii.gz");
  const auto largest = std::get<0>(at::_unique(labels.data.flatten())).max();
  labels.data.masked_fill_(labels.data == largest, 0);
  io::write_volume(dir + "/lab/b.nii.gz", labels);
  const auto edited = test::run_medsam("prep " + cfg + " --output " + out);
  CHECK(edited.exit_code == 2);
  CHECK_THAT(edited.err, Catch::Contains("input files of 1 converted case(s) changed") &&
                             Catch::Contains("colin/b: labels " + dir + "/lab/b.nii.gz") &&
                             Catch::Contains("--overwrite"));
  CHECK_FALSE(edited.err.find("colin/a") != std::string::npos);
  CHECK(data::Manifest::load(out + "/manifest.json").done_cases.size() == 2);  // nothing touched

  const auto rebuilt = test::run_medsam("prep " + cfg + " --output " + out + " --overwrite");
  INFO(rebuilt.err);
  CHECK(rebuilt.exit_code == 0);
  CHECK_THAT(rebuilt.out, Catch::Contains("2 converted now"));
  const auto after = test::run_medsam("prep " + cfg + " --output " + out);
  CHECK_THAT(after.out, Catch::Contains("already complete"));
}

TEST_CASE("prep rerun tries a skipped case again once its file is replaced, or with --retry-skipped",
          "[data][prep]") {
  MEDSAM_NEEDS_ITK("the Colin27 NIfTI crop");
  const auto dir = test::temp_dir("prep_retry_skipped");
  fs::create_directories(dir + "/img");
  fs::create_directories(dir + "/lab");
  for (const char* c : {"a", "b"}) {
    fs::copy_file(test::colin27_crop_dir() + "/image.nii.gz", dir + "/img/" + c + ".nii.gz");
    fs::copy_file(test::colin27_crop_dir() + "/labels.nii.gz", dir + "/lab/" + c + ".nii.gz");
  }
  write_text(dir + "/lab/b.nii.gz", "a download cut short");
  const auto cfg = write_config(dir);
  const auto out = dir + "/out";
  REQUIRE(test::run_medsam("prep " + cfg + " --output " + out).exit_code == 0);
  auto m = data::Manifest::load(out + "/manifest.json");
  REQUIRE(m.skipped.size() == 1);
  const auto shards_before = m.shards.size();

  // Unchanged: the skip stands.
  const auto same = test::run_medsam("prep " + cfg + " --output " + out);
  CHECK_THAT(same.out, Catch::Contains("already complete") && Catch::Contains("1 skipped"));
  // --retry-skipped tries it (it fails the same way).
  const auto forced = test::run_medsam("prep " + cfg + " --output " + out + " --retry-skipped");
  CHECK(forced.exit_code == 0);
  CHECK_THAT(forced.out, Catch::Contains("1 skipped before and tried again") && Catch::Contains("1 skipped\n"));

  // An interrupted commit's extra records are cut back to the committed length.
  m = data::Manifest::load(out + "/manifest.json");
  std::ofstream(out + "/inputs.tsv", std::ios::app) << "colin/x\t1\t2\t00000000\t0000";
  // The file is replaced: converted now, appended in new shards, no longer skipped.
  fs::copy_file(test::colin27_crop_dir() + "/labels.nii.gz", dir + "/lab/b.nii.gz", fs::copy_options::overwrite_existing);
  const auto fixed = test::run_medsam("prep " + cfg + " --output " + out);
  INFO(fixed.err);
  CHECK(fixed.exit_code == 0);
  CHECK_THAT(fixed.out, Catch::Contains("1 converted now") && Catch::Contains("0 skipped"));
  m = data::Manifest::load(out + "/manifest.json");
  CHECK(m.skipped.empty());
  CHECK(m.done_cases == std::vector<std::string>{"colin/a", "colin/b"});
  CHECK(m.complete);
  CHECK(m.shards.size() > shards_before);
  CHECK(m.input_record_bytes == fs::file_size(out + "/inputs.tsv"));
  CHECK(prep::read_input_records(out + "/inputs.tsv", m.input_record_bytes).at("colin/b").labels.exists);
}

TEST_CASE("prep --rebuild-changed converts the changed case and its shard-mates again, and the counts match a "
          "fresh prep",
          "[data][prep]") {
  MEDSAM_NEEDS_ITK("the Colin27 NIfTI crop");
  const auto dir = test::temp_dir("prep_rebuild_changed");
  fs::create_directories(dir + "/img");
  fs::create_directories(dir + "/lab");
  for (const char* c : {"a", "b", "c"}) {
    fs::copy_file(test::colin27_crop_dir() + "/image.nii.gz", dir + "/img/" + c + ".nii.gz");
    fs::copy_file(test::colin27_crop_dir() + "/labels.nii.gz", dir + "/lab/" + c + ".nii.gz");
  }
  const auto cfg = write_config(dir);  // shard_bytes 1: one shard per case
  const auto out = dir + "/out";
  REQUIRE(test::run_medsam("prep " + cfg + " --output " + out).exit_code == 0);
  const auto before = data::Manifest::load(out + "/manifest.json");
  REQUIRE(before.shards.size() == 3);

  // b's most common label removed: its objects go.
  auto labels = io::read_volume(dir + "/lab/b.nii.gz");
  auto counts = torch::bincount(labels.data.flatten().to(torch::kLong));
  counts[0] = 0;
  labels.data.masked_fill_(labels.data == counts.argmax(), 0);
  io::write_volume(dir + "/lab/b.nii.gz", labels);

  const auto rebuilt = test::run_medsam("prep " + cfg + " --output " + out + " --rebuild-changed");
  INFO(rebuilt.err);
  REQUIRE(rebuilt.exit_code == 0);
  CHECK_THAT(rebuilt.out, Catch::Contains("1 converted now") && Catch::Contains("1 converted again"));
  const auto after = data::Manifest::load(out + "/manifest.json");
  CHECK(after.complete);
  REQUIRE(after.shards.size() == 3);
  CHECK(after.shards[0].info.name == before.shards[0].info.name);  // a's and c's shards kept as they were
  CHECK(after.shards[1].info.name == before.shards[2].info.name);
  CHECK(after.shards[2].info.name == "train-000003");                // b's new shard after the last number
  CHECK(after.shards[2].cases == std::vector<std::string>{"colin/b"});
  CHECK_FALSE(fs::exists(out + "/train-000001.tar"));                 // b's old shard removed
  // The same samples and counts as a fresh prep of the files as they are now.
  const auto fresh_out = dir + "/fresh";
  REQUIRE(test::run_medsam("prep " + cfg + " --output " + fresh_out).exit_code == 0);
  const auto fresh = data::Manifest::load(fresh_out + "/manifest.json");
  CHECK(after.objects_by_label == fresh.objects_by_label);
  for (const auto& [split, c] : fresh.by_split) {
    CHECK(after.by_split.at(split).samples == c.samples);
    CHECK(after.by_split.at(split).objects == c.objects);
  }
  CHECK(after.by_dataset.at("colin").objects == fresh.by_dataset.at("colin").objects);
  CHECK(after.by_modality.at("mr").samples == fresh.by_modality.at("mr").samples);
  CHECK(after.by_split.at("train").objects < before.by_split.at("train").objects);  // b lost a label
  // And the next run has nothing to do.
  CHECK_THAT(test::run_medsam("prep " + cfg + " --output " + out).out, Catch::Contains("already complete"));
}

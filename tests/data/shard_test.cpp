#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "medsam/data/manifest.h"
#include "medsam/data/objects.h"
#include "medsam/data/shard_index.h"
#include "medsam/data/shard_reader.h"
#include "medsam/data/shard_writer.h"
#include "medsam/io/image.h"
#include "tests/support/run_command.h"

using namespace medsam::data;

namespace {

// A 32x40 sample whose image is a gradient and whose labels hold two boxes (ids 7 and 300).
EncodedSample make_sample(int i, at::Tensor* image_out = nullptr, at::Tensor* labels_out = nullptr) {
  auto image = (torch::arange(32 * 40).reshape({32, 40}) * (i + 1) % 256).to(torch::kByte);
  auto labels = torch::zeros({32, 40}, torch::kInt);
  labels.slice(0, 2, 10).slice(1, 3, 8).fill_(7);          // rows 2..9, cols 3..7: 40 px
  labels.slice(0, 20, 31).slice(1, 30, 40).fill_(300 + i);  // rows 20..30, cols 30..39: 110 px
  EncodedSample s;
  s.key = "ds/case" + std::to_string(i / 2) + "/z" + std::to_string(i);
  s.case_name = "case" + std::to_string(i / 2);
  s.img_png = medsam::io::encode_png(image);
  s.seg_png = medsam::io::encode_png(labels);
  s.json = "{\"i\": " + std::to_string(i) + "}";
  s.objects = describe_objects(labels);
  s.slice = static_cast<std::uint32_t>(i);
  s.height = 32;
  s.width = 40;
  s.modality = Modality::kMr;
  if (image_out) *image_out = image;
  if (labels_out) *labels_out = labels;
  return s;
}

}  // namespace

TEST_CASE("describe_objects gives ids, pixel counts and inclusive tight boxes", "[data][shard]") {
  at::Tensor labels;
  make_sample(0, nullptr, &labels);
  const auto objs = describe_objects(labels);
  REQUIRE(objs.size() == 2);
  CHECK(objs[0].label == 7);
  CHECK(objs[0].pixels == 40);
  CHECK((objs[0].x0 == 3 && objs[0].y0 == 2 && objs[0].x1 == 7 && objs[0].y1 == 9));
  CHECK(objs[1].label == 300);
  CHECK(objs[1].pixels == 110);
  CHECK((objs[1].x0 == 30 && objs[1].y0 == 20 && objs[1].x1 == 39 && objs[1].y1 == 30));
}

TEST_CASE("a shard round-trips image bytes, 16-bit labels, metadata and the object table", "[data][shard]") {
  const auto dir = medsam::test::temp_dir("shard_roundtrip");
  std::vector<at::Tensor> images(5), labels(5);
  ShardInfo info;
  {
    ShardWriter w(dir, "train-000000", Split::kTrain);
    for (int i = 0; i < 5; ++i) w.add(make_sample(i, &images[i], &labels[i]));
    CHECK(std::filesystem::exists(dir + "/train-000000.tar.tmp"));
    CHECK_FALSE(std::filesystem::exists(dir + "/train-000000.tar"));  // not visible before finish
    info = w.finish();
  }
  CHECK(info.samples == 5);
  CHECK(info.objects == 10);
  CHECK_FALSE(std::filesystem::exists(dir + "/train-000000.tar.tmp"));

  ShardReader r(dir + "/train-000000");
  REQUIRE(r.size() == 5);
  CHECK(r.verify());
  for (int i = 0; i < 5; ++i) {
    const auto s = r.read(i);
    CHECK(s.image.select(2, 0).equal(images[i]));
    CHECK(s.labels.equal(labels[i]));  // 300+i survives: the label PNG is 16-bit
    CHECK(s.json == "{\"i\": " + std::to_string(i) + "}");
    const auto& rec = r.index().samples[i];
    CHECK(std::string(r.index().case_name(rec)) == "case" + std::to_string(i / 2));
    REQUIRE(rec.object_count == 2);
    const auto& o = r.index().objects[rec.first_object + 1];
    CHECK(o.label == 300 + i);
    CHECK(o.pixels == 110);
    CHECK((o.x0 == 30 && o.y0 == 20 && o.x1 == 39 && o.y1 == 30));
  }
}

TEST_CASE("shard tars list in GNU tar as WebDataset members", "[data][shard]") {
  const auto dir = medsam::test::temp_dir("shard_tar");
  {
    ShardWriter w(dir, "val-000000", Split::kVal);
    w.add(make_sample(0));
    w.add(make_sample(1));
    w.finish();
  }
  const auto res = medsam::test::run_command("tar -tf " + dir + "/val-000000.tar");
  REQUIRE(res.exit_code == 0);
  CHECK(res.out == "ds/case0/z0.img.png\nds/case0/z0.seg.png\nds/case0/z0.json\n"
                   "ds/case0/z1.img.png\nds/case0/z1.seg.png\nds/case0/z1.json\n");
  // tar extracts the metadata byte for byte.
  const auto cat = medsam::test::run_command("tar -xOf " + dir + "/val-000000.tar ds/case0/z1.json");
  CHECK(cat.out == "{\"i\": 1}");
}

TEST_CASE("index costs 48 bytes per sample plus 16 per object", "[data][shard]") {
  CHECK(sizeof(SampleRecord) == 48);
  CHECK(sizeof(ObjectRecord) == 16);
  ShardIndex idx;
  idx.samples.resize(1000);
  idx.objects.resize(3000);
  idx.strings = std::string(10, 'a');
  CHECK(idx.serialize().size() == 64 + 1000 * 48 + 3000 * 16 + 10);
  // 1.57M MedSAM samples with ~1 object each: (48 + 16) * 1.57e6 = 100 MB, far below 500 MB.
  CHECK((48 + 16) * 1570263.0 < 500e6 / 4);
}

TEST_CASE("a truncated or foreign index is rejected with the file named", "[data][shard]") {
  const auto dir = medsam::test::temp_dir("shard_bad_index");
  {
    ShardWriter w(dir, "s", Split::kTrain);
    w.add(make_sample(0));
    w.finish();
  }
  std::filesystem::resize_file(dir + "/s.idx", 100);
  CHECK_THROWS_WITH(ShardIndex::load(dir + "/s.idx"), Catch::Contains("s.idx") && Catch::Contains("corrupt"));
  std::ofstream(dir + "/t.idx") << "not an index at all, but long enough to hold a header of 64 bytes....";
  CHECK_THROWS_WITH(ShardIndex::load(dir + "/t.idx"), Catch::Contains("magic"));
}

TEST_CASE("an unfinished shard leaves no files behind", "[data][shard]") {
  const auto dir = medsam::test::temp_dir("shard_abandon");
  {
    ShardWriter w(dir, "train-000001", Split::kTrain);
    w.add(make_sample(0));
  }  // destroyed without finish(): an interrupted prep
  CHECK(std::filesystem::is_empty(dir));
}

TEST_CASE("manifest JSON round-trips", "[data][shard]") {
  Manifest m;
  m.config_hash = "abcd0123";
  m.image_size = 256;
  m.datasets.push_back({"colin", "mr", "brain", {{1, "Precentral_L"}}});
  ShardInfo info;
  info.name = "test-000000";
  info.split = Split::kTest;
  info.samples = 3;
  info.crc32 = 0xdeadbeef;
  m.shards.push_back({info, {"colin/ch2"}});
  m.by_split["test"] = {3, 9};
  m.objects_by_label["colin:1 Precentral_L"] = 9;
  m.skipped.emplace_back("colin/bad", "unreadable");
  const auto back = Manifest::from_json(m.to_json(), "mem");
  CHECK(back.to_json() == m.to_json());
  CHECK(back.shards[0].info.crc32 == 0xdeadbeef);
  CHECK(back.shards[0].info.split == Split::kTest);
  CHECK_THROWS_WITH(Manifest::from_json("{\"format\": \"other\"}", "x.json"), Catch::Contains("x.json"));
  // A hand-edited split name is an error, not train (held-out cases would be trained on).
  std::string edited = m.to_json();
  const auto at = edited.find("\"test\"", edited.find("\"shards\""));
  REQUIRE(at != std::string::npos);
  edited.replace(at, 6, "\"validation\"");
  CHECK_THROWS_WITH(Manifest::from_json(edited, "m.json"),
                    Catch::Contains("m.json") && Catch::Contains("split 'validation' is not train, val or test"));
}

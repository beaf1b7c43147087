// TensorBoard event files: written by medsam/train/tensorboard_writer, read back here by an independent
// decoder (its own bitwise CRC-32C and protobuf parsing, nothing shared with the writer).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "medsam/train/metrics_log.h"
#include "medsam/train/tensorboard_writer.h"
#include "tests/support/run_command.h"

using namespace medsam::train;
namespace fs = std::filesystem;

namespace {

// Bit-at-a-time CRC-32C (RFC 3720 B.4), deliberately not the writer's table version.
uint32_t reference_crc32c(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}
uint32_t reference_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

template <class T>
T read_le(const std::string& s, size_t at) {
  T v;
  std::memcpy(&v, s.data() + at, sizeof(T));
  return v;
}

// One protobuf message as field number -> raw values (varints as integers, others as bytes).
struct Fields {
  std::multimap<uint32_t, uint64_t> varints;
  std::multimap<uint32_t, std::string> bytes;  // length-delimited, fixed32 and fixed64 payloads
};

uint64_t read_varint(const std::string& s, size_t& at) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    REQUIRE(at < s.size());
    const auto b = static_cast<unsigned char>(s[at++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
}

Fields parse_message(const std::string& s) {
  Fields f;
  size_t at = 0;
  while (at < s.size()) {
    const uint64_t key = read_varint(s, at);
    const auto field = static_cast<uint32_t>(key >> 3);
    switch (key & 7) {
      case 0: f.varints.emplace(field, read_varint(s, at)); break;
      case 1: f.bytes.emplace(field, s.substr(at, 8)); at += 8; break;
      case 5: f.bytes.emplace(field, s.substr(at, 4)); at += 4; break;
      case 2: {
        const uint64_t n = read_varint(s, at);
        f.bytes.emplace(field, s.substr(at, n));
        at += n;
        break;
      }
      default: FAIL("unexpected wire type " << (key & 7));
    }
    REQUIRE(at <= s.size());
  }
  return f;
}

// Every record's data, after checking both masked CRCs.
std::vector<std::string> read_records(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  std::vector<std::string> records;
  size_t at = 0;
  while (at < s.size()) {
    REQUIRE(at + 12 <= s.size());
    const auto length = read_le<uint64_t>(s, at);
    CHECK(read_le<uint32_t>(s, at + 8) == reference_mask(reference_crc32c(s.substr(at, 8))));
    REQUIRE(at + 12 + length + 4 <= s.size());
    const std::string data = s.substr(at + 12, length);
    CHECK(read_le<uint32_t>(s, at + 12 + length) == reference_mask(reference_crc32c(data)));
    records.push_back(data);
    at += 12 + length + 4;
  }
  return records;
}

}  // namespace

TEST_CASE("CRC-32C matches the published check value and the bitwise reference", "[train][tensorboard]") {
  CHECK(crc32c("123456789", 9) == 0xE3069283u);  // RFC 3720 / iSCSI check value
  const std::string text = "scalar curves for TensorBoard";
  CHECK(crc32c(text.data(), text.size()) == reference_crc32c(text));
  CHECK(masked_crc32c(text.data(), text.size()) == reference_mask(reference_crc32c(text)));
}

TEST_CASE("an event file decodes to a version record and scalar events with tags, steps and values", "[train][tensorboard]") {
  const std::string dir = medsam::test::temp_dir("tensorboard_events");
  std::string path;
  {
    TensorBoardWriter w(dir);
    path = w.path();
    w.add_scalars(1, {{"train/loss", 0.75f}, {"train/lr", 1e-4f}});
    w.add_scalars(300, {{"val/mean_dsc", 0.5f}});
  }
  CHECK_THAT(fs::path(path).filename().string(), Catch::StartsWith("events.out.tfevents."));
  const auto records = read_records(path);
  REQUIRE(records.size() == 3);

  const Fields version = parse_message(records[0]);
  REQUIRE(version.bytes.count(3) == 1);
  CHECK(version.bytes.find(3)->second == "brain.Event:2");
  const double wall = read_le<double>(version.bytes.find(1)->second, 0);
  CHECK(wall > 1.7e9);  // seconds since 1970, after 2023

  struct Scalar {
    int64_t step;
    std::string tag;
    float value;
  };
  std::vector<Scalar> got;
  for (size_t i = 1; i < records.size(); ++i) {
    const Fields event = parse_message(records[i]);
    REQUIRE(event.varints.count(2) == 1);
    REQUIRE(event.bytes.count(5) == 1);
    const Fields summary = parse_message(event.bytes.find(5)->second);
    auto range = summary.bytes.equal_range(1);
    for (auto it = range.first; it != range.second; ++it) {
      const Fields value = parse_message(it->second);
      got.push_back({static_cast<int64_t>(event.varints.find(2)->second), value.bytes.find(1)->second,
                     read_le<float>(value.bytes.find(2)->second, 0)});
    }
  }
  REQUIRE(got.size() == 3);
  CHECK(got[0].step == 1);
  CHECK(got[0].tag == "train/loss");
  CHECK(got[0].value == 0.75f);
  CHECK(got[1].tag == "train/lr");
  CHECK(got[1].value == 1e-4f);
  CHECK(got[2].step == 300);
  CHECK(got[2].tag == "val/mean_dsc");
  CHECK(got[2].value == 0.5f);
}

TEST_CASE("a TFRecord frame is length, masked CRC of the length, data, masked CRC of the data", "[train][tensorboard]") {
  const std::string framed = frame_tfrecord("abc");
  REQUIRE(framed.size() == 8 + 4 + 3 + 4);
  CHECK(read_le<uint64_t>(framed, 0) == 3);
  CHECK(framed.substr(12, 3) == "abc");
  CHECK(read_le<uint32_t>(framed, 15) == reference_mask(reference_crc32c("abc")));
}

TEST_CASE("an event file in a directory that cannot be created is an error naming the file", "[train][tensorboard]") {
  REQUIRE_THROWS_WITH(TensorBoardWriter("/proc/medsam_no_such_dir/tb"), Catch::Contains("/proc/medsam_no_such_dir/tb"));
}

TEST_CASE("a session start is Event{wall_time, step, session_log{status: START}}", "[train][tensorboard]") {
  const Fields event = parse_message(encode_session_start_event(1.7e9, 1201));
  REQUIRE(event.varints.count(2) == 1);
  CHECK(event.varints.find(2)->second == 1201);
  CHECK(read_le<double>(event.bytes.find(1)->second, 0) == 1.7e9);
  REQUIRE(event.bytes.count(7) == 1);  // Event.session_log (event.proto)
  CHECK(event.bytes.count(5) == 0);
  const Fields session = parse_message(event.bytes.find(7)->second);
  REQUIRE(session.varints.count(1) == 1);
  CHECK(session.varints.find(1)->second == 1);  // SessionLog.START
}

TEST_CASE("a resumed run's event file starts with a session start after the checkpoint's step",
          "[train][tensorboard]") {
  const std::string dir = medsam::test::temp_dir("tensorboard_resumed");
  medsam::TrainLogConfig cfg;
  cfg.tensorboard = true;
  {
    MetricsLog log(dir, cfg, /*enabled=*/true);
    log.set_start_step(40);  // resumed from step 40's checkpoint
    log.add_step({41, 2, 4, 0.5, 0.25, 0.25, 1e-4, 1.0, 0.5, false});
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "tensorboard")) files.push_back(e.path());
  REQUIRE(files.size() == 1);
  const auto records = read_records(files[0].string());
  REQUIRE(records.size() == 3);  // version, session start, scalars
  const Fields start = parse_message(records[1]);
  REQUIRE(start.bytes.count(7) == 1);
  CHECK(start.varints.find(2)->second == 41);
  CHECK(parse_message(start.bytes.find(7)->second).varints.find(1)->second == 1);
  const Fields scalars = parse_message(records[2]);
  CHECK(scalars.varints.find(2)->second == 41);
  CHECK(scalars.bytes.count(5) == 1);
}

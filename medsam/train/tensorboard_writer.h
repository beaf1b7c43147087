// Scalar curves that TensorBoard opens as they are: an event file of TFRecords, each an Event protocol
// buffer, encoded by hand (no protobuf or TensorFlow dependency). What is written, byte for byte:
//
//   file  = record*                  (events.out.tfevents.<unix time>.<host>.<pid>)
//   record = uint64 length (little endian)
//            uint32 masked_crc32c(the 8 length bytes)
//            bytes  data[length]      (one serialized Event)
//            uint32 masked_crc32c(data)
//   masked_crc32c(x) = rotate_right(crc32c(x), 15) + 0xa282ead8   (CRC-32C, Castagnoli polynomial)
//
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5;
//             SessionLog session_log = 7; }
//   SessionLog { SessionStatus status = 1; }      (START = 1)
//   Summary { repeated Value value = 1; }
//   Value   { string tag = 1; float simple_value = 2; }
//
// The first record is Event{wall_time, file_version: "brain.Event:2"}, as TensorFlow's writer starts.
// ref: tensorflow/core/lib/io/record_writer.cc, tensorflow/core/util/events_writer.cc,
//      tensorflow/core/framework/summary.proto, tensorflow/core/util/event.proto,
//      tensorboard/summary/writer/record_writer.py
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace medsam::train {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `size` bytes; crc32c("123456789") = 0xE3069283.
std::uint32_t crc32c(const void* data, std::size_t size);
// TFRecord's masking of a CRC stored next to the data it covers.
std::uint32_t masked_crc32c(const void* data, std::size_t size);

// One serialized Event with scalar values at `step` (the protobuf bytes, without TFRecord framing).
std::string encode_scalar_event(double wall_time, std::int64_t step,
                                const std::vector<std::pair<std::string, float>>& scalars);
// One serialized Event{session_log: START} at `step`: TensorBoard then drops every value an earlier
// writer logged at this step or later (ref: tensorboard/backend/event_processing/event_accumulator.py
// _CheckForRestartAndMaybePurge), as TensorFlow's Supervisor writes at each (re)start.
std::string encode_session_start_event(double wall_time, std::int64_t step);
// The data of one TFRecord framed: length, its masked CRC, data, its masked CRC.
std::string frame_tfrecord(const std::string& data);

class TensorBoardWriter {
 public:
  // Creates `dir` and a new event file in it (the file-version record is written at once). Throws Error
  // naming the file when it cannot be created.
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // Appends one event holding every (tag, value) pair, then flushes (TensorBoard reads live).
  void add_scalars(std::int64_t step, const std::vector<std::pair<std::string, float>>& scalars);
  // Appends a session start at `step` (a resumed run's first step): what a killed run logged from there
  // on is replaced by what follows, instead of both curves overlapping.
  void add_session_start(std::int64_t step);
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& data);
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace medsam::train

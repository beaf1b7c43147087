#include "medsam/train/tensorboard_writer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "medsam/core/error.h"

namespace medsam::train {

namespace {

// Protobuf wire format (ref: protobuf encoding.md): a key is (field_number << 3) | wire_type.
enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_key(std::string& out, std::uint32_t field, WireType type) { put_varint(out, (field << 3) | type); }

template <class T>
void put_little_endian(std::string& out, T v) {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));  // x86/ARM Linux: already little endian
  out.append(reinterpret_cast<const char*>(bytes), sizeof(T));
}

void put_bytes(std::string& out, std::uint32_t field, const std::string& bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out += bytes;
}

const std::array<std::uint32_t, 256>& crc32c_table() {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The fields every Event here starts with; the caller appends its `what` (summary, session_log).
std::string event_header(double wall_time, std::int64_t step) {
  std::string event;
  put_key(event, 1, kFixed64);  // Event.wall_time
  put_little_endian(event, wall_time);
  put_key(event, 2, kVarint);  // Event.step
  put_varint(event, static_cast<std::uint64_t>(step));
  return event;
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t size) {
  const auto& table = crc32c_table();
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// ref: tensorflow/core/lib/hash/crc32c.h Mask (kMaskDelta = 0xa282ead8)
std::uint32_t masked_crc32c(const void* data, std::size_t size) {
  const std::uint32_t c = crc32c(data, size);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

std::string encode_scalar_event(double wall_time, std::int64_t step,
                                const std::vector<std::pair<std::string, float>>& scalars) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;
    put_bytes(v, 1, tag);  // Summary.Value.tag
    put_key(v, 2, kFixed32);  // Summary.Value.simple_value
    put_little_endian(v, value);
    put_bytes(summary, 1, v);  // Summary.value (repeated)
  }
  std::string event = event_header(wall_time, step);
  put_bytes(event, 5, summary);  // Event.summary
  return event;
}

// ref: tensorflow/core/util/event.proto SessionLog; tensorflow/python/training/supervisor.py
// Supervisor._write_session_start (SessionLog(status=START) at the global step)
std::string encode_session_start_event(double wall_time, std::int64_t step) {
  std::string session_log;
  put_key(session_log, 1, kVarint);  // SessionLog.status
  put_varint(session_log, 1);        // START
  std::string event = event_header(wall_time, step);
  put_bytes(event, 7, session_log);  // Event.session_log
  return event;
}

// ref: tensorflow/core/lib/io/record_writer.cc RecordWriter::WriteRecord
std::string frame_tfrecord(const std::string& data) {
  std::string out;
  const std::uint64_t length = data.size();
  put_little_endian(out, length);
  put_little_endian(out, masked_crc32c(out.data(), sizeof(length)));
  out += data;
  put_little_endian(out, masked_crc32c(data.data(), data.size()));
  return out;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  // ref: tensorflow/core/util/events_writer.cc EventsWriter::InitIfNeeded (file name pattern)
  path_ = (std::filesystem::path(dir) /
           fmt::format("events.out.tfevents.{}.{}.{}.0", static_cast<long long>(now_seconds()), host, ::getpid()))
              .string();
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) throw Error(fmt::format("TensorBoard event file {}: cannot create it: {}", path_, std::strerror(errno)));
  std::string version;
  put_key(version, 1, kFixed64);
  put_little_endian(version, now_seconds());
  put_bytes(version, 3, "brain.Event:2");  // Event.file_version
  write_record(version);
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);
}

void TensorBoardWriter::add_scalars(std::int64_t step, const std::vector<std::pair<std::string, float>>& scalars) {
  write_record(encode_scalar_event(now_seconds(), step, scalars));
}

void TensorBoardWriter::add_session_start(std::int64_t step) {
  write_record(encode_session_start_event(now_seconds(), step));
}

void TensorBoardWriter::write_record(const std::string& data) {
  const std::string record = frame_tfrecord(data);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() || std::fflush(file_) != 0)
    throw Error(fmt::format("TensorBoard event file {}: write failed: {}", path_, std::strerror(errno)));
}

}  // namespace medsam::train

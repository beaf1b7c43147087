// Writes one shard: `<name>.tar` + `<name>.idx` in a folder. Until finish() both exist only as
// `*.tmp`, so an interrupted write never leaves a shard that looks complete.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "medsam/data/modality.h"
#include "medsam/data/objects.h"
#include "medsam/data/shard_format.h"

namespace medsam::io {
class TarWriter;
}

namespace medsam::data {

// One encoded sample, ready to append.
struct EncodedSample {
  std::string key;  // WebDataset key: no '.' (e.g. "colin27_aal/ch2/z0093")
  std::string case_name;
  std::vector<std::uint8_t> img_png;  // uint8 grey or RGB
  std::vector<std::uint8_t> seg_png;  // 16-bit label map
  std::string json;                   // metadata
  std::vector<ObjectInfo> objects;
  std::uint32_t slice = 0;
  std::uint16_t height = 0, width = 0, dataset = 0;
  Modality modality = Modality::kOther;
  Split split = Split::kTrain;
  std::uint8_t axis = 0, channels = 1;

  std::uint64_t tar_bytes() const;  // bytes this sample adds to a tar (headers + padding)
};

struct ShardInfo {
  std::string name;  // file stem: <name>.tar, <name>.idx
  Split split = Split::kTrain;
  std::uint64_t samples = 0, objects = 0, tar_bytes = 0, index_bytes = 0;
  std::uint32_t crc32 = 0;  // of the .tar
};

class ShardWriter {
 public:
  ShardWriter(const std::string& dir, const std::string& name, Split split);
  ~ShardWriter();  // removes the .tmp files if finish() was not reached
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  void add(const EncodedSample& sample);
  std::uint64_t bytes() const;
  std::uint64_t samples() const { return index_.samples.size(); }

  // Ends the tar, fsyncs, checksums, writes the index, renames both into place.
  ShardInfo finish();

 private:
  std::string dir_, name_;
  Split split_;
  std::unique_ptr<io::TarWriter> tar_;
  struct IndexData {
    std::vector<SampleRecord> samples;
    std::vector<ObjectRecord> objects;
    std::string strings;
  } index_;
  std::string last_case_;
  std::uint32_t last_case_offset_ = 0;
  bool finished_ = false;
};

}  // namespace medsam::data

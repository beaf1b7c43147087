// The binary index of one shard (layout in shard_format.h): read whole into memory, written once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "medsam/data/shard_format.h"

namespace medsam::data {

class ShardIndex {
 public:
  IndexHeader header{};
  std::vector<SampleRecord> samples;
  std::vector<ObjectRecord> objects;
  std::string strings;  // NUL-terminated case names

  // Reads and validates an .idx file (magic, version, sizes, offsets against header.tar_bytes,
  // object and string references). Throws Error naming the file and what is wrong.
  static ShardIndex load(const std::string& path);
  // Serialises (header fields sample/object/string counts are filled in here).
  std::string serialize() const;

  const char* case_name(const SampleRecord& s) const { return strings.c_str() + s.case_name; }
  // Bytes this index holds in memory (what 1.57M samples cost: see docs/data_format.md).
  std::size_t memory_bytes() const;

  static std::uint64_t seg_offset(const SampleRecord& s);
  static std::uint64_t json_offset(const SampleRecord& s);
};

}  // namespace medsam::data

// Random access to the samples of one shard: the index in memory, member bytes by pread.
// Thread-safe for concurrent reads (pread does not move a shared file position).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "medsam/data/shard_index.h"

namespace medsam::data {

struct ShardSample {
  at::Tensor image;   // (H, W, C) uint8, C = 1 or 3
  at::Tensor labels;  // (H, W) int32, label ids 0..65535
  std::string json;   // metadata
};

class ShardReader {
 public:
  // Opens `<stem>.tar` + `<stem>.idx`; checks the tar size against the index. Throws Error.
  explicit ShardReader(const std::string& stem);
  ~ShardReader();
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;

  std::size_t size() const { return index_.samples.size(); }
  const ShardIndex& index() const { return index_; }

  std::vector<std::uint8_t> read_bytes(std::uint64_t offset, std::uint32_t size) const;
  ShardSample read(std::size_t i) const;  // decodes both PNGs
  // Recomputes the tar's CRC-32 and compares it with the index; false on mismatch.
  bool verify() const;

 private:
  std::string tar_path_;
  ShardIndex index_;
  int fd_ = -1;
};

}  // namespace medsam::data

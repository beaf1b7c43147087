// CRC-32 (the zlib/PNG/gzip polynomial 0xEDB88320), used as the per-shard content checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace medsam::data {

// Continues a running CRC: crc32_update(crc32_update(0, a), b) == CRC of a followed by b.
std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t size);

// CRC-32 of a whole file; throws Error naming the file.
std::uint32_t crc32_file(const std::string& path);

}  // namespace medsam::data

#include "medsam/data/shard_index.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "medsam/core/error.h"
#include "medsam/core/file_text.h"
#include "medsam/io/tar_writer.h"

namespace medsam::data {

std::uint64_t ShardIndex::seg_offset(const SampleRecord& s) {
  return s.img_offset + io::tar_padded(s.img_bytes) + 512;
}

std::uint64_t ShardIndex::json_offset(const SampleRecord& s) {
  return seg_offset(s) + io::tar_padded(s.seg_bytes) + 512;
}

std::size_t ShardIndex::memory_bytes() const {
  return sizeof(IndexHeader) + samples.size() * sizeof(SampleRecord) + objects.size() * sizeof(ObjectRecord) +
         strings.size();
}

std::string ShardIndex::serialize() const {
  IndexHeader h = header;
  std::memcpy(h.magic, kIndexMagic, 8);
  h.version = kShardFormatVersion;
  h.header_bytes = sizeof(IndexHeader);
  h.sample_bytes = sizeof(SampleRecord);
  h.sample_count = samples.size();
  h.object_count = objects.size();
  h.string_bytes = strings.size();
  std::string out;
  out.reserve(memory_bytes());
  out.append(reinterpret_cast<const char*>(&h), sizeof h);
  out.append(reinterpret_cast<const char*>(samples.data()), samples.size() * sizeof(SampleRecord));
  out.append(reinterpret_cast<const char*>(objects.data()), objects.size() * sizeof(ObjectRecord));
  out.append(strings);
  return out;
}

ShardIndex ShardIndex::load(const std::string& path) {
  const std::string bytes = read_file_bytes(path, "shard index");
  auto bad = [&](const std::string& what) { return Error(fmt::format("{}: corrupt shard index: {}", path, what)); };
  ShardIndex idx;
  if (bytes.size() < sizeof(IndexHeader)) throw bad("shorter than its 64-byte header");
  std::memcpy(&idx.header, bytes.data(), sizeof(IndexHeader));
  const auto& h = idx.header;
  if (std::memcmp(h.magic, kIndexMagic, 8) != 0) throw bad("magic is not MSAMIDX1");
  if (h.version != kShardFormatVersion)
    throw Error(fmt::format("{}: shard index version {} (this medsam reads version {})", path, h.version,
                            kShardFormatVersion));
  if (h.header_bytes != sizeof(IndexHeader) || h.sample_bytes != sizeof(SampleRecord))
    throw bad("unexpected header or record size");
  const std::uint64_t expect = sizeof(IndexHeader) + h.sample_count * sizeof(SampleRecord) +
                               h.object_count * sizeof(ObjectRecord) + h.string_bytes;
  if (h.sample_count > (1ull << 40) || h.object_count > (1ull << 40) || expect != bytes.size())
    throw bad(fmt::format("size {} does not match its counts (expected {})", bytes.size(), expect));
  const char* p = bytes.data() + sizeof(IndexHeader);
  idx.samples.resize(h.sample_count);
  std::memcpy(idx.samples.data(), p, h.sample_count * sizeof(SampleRecord));
  p += h.sample_count * sizeof(SampleRecord);
  idx.objects.resize(h.object_count);
  std::memcpy(idx.objects.data(), p, h.object_count * sizeof(ObjectRecord));
  p += h.object_count * sizeof(ObjectRecord);
  idx.strings.assign(p, h.string_bytes);
  if (!idx.strings.empty() && idx.strings.back() != '\0') throw bad("case-name table is not NUL-terminated");
  for (std::size_t i = 0; i < idx.samples.size(); ++i) {
    const auto& s = idx.samples[i];
    if (json_offset(s) + s.json_bytes > h.tar_bytes) throw bad(fmt::format("sample {} points past the tar end", i));
    if (static_cast<std::uint64_t>(s.first_object) + s.object_count > h.object_count)
      throw bad(fmt::format("sample {} refers to objects past the table", i));
    if (s.case_name >= h.string_bytes) throw bad(fmt::format("sample {} has a bad case-name offset", i));
  }
  return idx;
}

}  // namespace medsam::data

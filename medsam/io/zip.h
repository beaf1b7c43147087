// The zip container under torch.save files (.pth) and numpy's .npz: a small, bounds-checked reader
// (stored and deflate entries, zip64) and a writer of stored entries. Every failure is a medsam::Error
// naming the file and what is wrong; hostile archives never make it read or allocate out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace medsam {

// Random-access bytes: a file (pread) or a buffer in memory (tests, fuzzing).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Reads exactly n bytes at offset into dst; throws Error when [offset, offset+n) is outside.
  virtual void read(uint64_t offset, void* dst, size_t n) const = 0;
  // The name used in error messages (a path, or "<memory>").
  virtual const std::string& name() const = 0;
};

std::unique_ptr<ByteSource> open_file_source(const std::string& path);
// The source keeps a copy of the bytes.
std::unique_ptr<ByteSource> memory_source(std::string bytes, std::string name = "<memory>");

struct ZipEntry {
  std::string name;
  uint16_t method = 0;              // 0 stored, 8 deflate
  uint64_t compressed_size = 0;
  uint64_t size = 0;                // uncompressed
  uint32_t crc32 = 0;
  uint64_t local_header_offset = 0;
};

// ref: APPNOTE.TXT (PKWARE) 4.3.12 central directory, 4.3.14-16 zip64 end records
class ZipReader {
 public:
  explicit ZipReader(std::shared_ptr<const ByteSource> source);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;
  // Throws Error naming the archive and the entry when absent.
  const ZipEntry& at(const std::string& name) const;
  // The entry's uncompressed bytes into dst (exactly entry.size bytes), CRC-32 checked.
  void read(const ZipEntry& entry, void* dst) const;
  std::string read_string(const ZipEntry& entry) const;
  const std::string& name() const { return source_->name(); }

 private:
  uint64_t data_offset(const ZipEntry& entry) const;
  void check_no_overlap(uint64_t cd_offset) const;
  std::shared_ptr<const ByteSource> source_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

// True when the first bytes are a zip local-file or end-of-directory signature.
bool looks_like_zip(const ByteSource& source);

// Writes stored (uncompressed) entries; zip64 records are added when sizes or offsets need them.
// Data of each entry is aligned to `alignment` bytes through the local header's extra field, as
// torch.save does (64) so readers can map tensors in place.
class ZipWriter {
 public:
  ZipWriter(const std::string& path, size_t alignment = 64);
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  void add(const std::string& name, const void* data, size_t size);
  // Writes the central directory and closes the file. Entries added after this throw.
  void finish();

 private:
  void write(const void* data, size_t n);
  std::string path_;
  size_t alignment_;
  std::FILE* file_ = nullptr;
  uint64_t offset_ = 0;
  std::vector<ZipEntry> entries_;
  bool finished_ = false;
};

}  // namespace medsam

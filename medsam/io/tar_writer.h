// Writes a POSIX ustar archive member by member (what WebDataset, `tar` and Python's tarfile read).
// Deterministic: mtime 0, uid/gid 0, mode 0644, no user names, so equal inputs give equal bytes.
#pragma once

#include <cstdint>
#include <string>

namespace medsam::io {

// Whether a member name fits ustar's fields (a name of up to 100 bytes, or a prefix of up to 155 and a name
// of up to 100 split at a '/'): nullptr, or what is wrong.
const char* ustar_name_problem(const std::string& name);

class TarWriter {
 public:
  // Creates (truncates) `path`. Throws Error naming the path on failure.
  explicit TarWriter(const std::string& path);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // Appends a regular file member; returns the byte offset of its data in the archive (its header
  // starts 512 bytes earlier). Names up to 255 bytes (split over ustar's prefix/name fields).
  std::uint64_t append(const std::string& name, const void* data, std::uint64_t size);

  // Bytes written so far (headers, data, padding; after finish() the whole file size).
  std::uint64_t bytes() const { return offset_; }

  // Writes the two zero end blocks, flushes to disk (fsync) and closes. Throws on failure.
  void finish();

 private:
  void write_all(const void* data, std::uint64_t size);
  std::string path_;
  int fd_ = -1;
  std::uint64_t offset_ = 0;
};

// Rounds a member size up to the 512-byte tar block.
constexpr std::uint64_t tar_padded(std::uint64_t size) { return (size + 511) / 512 * 512; }

}  // namespace medsam::io

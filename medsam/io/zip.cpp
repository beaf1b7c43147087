// Zip container: byte sources, a bounds-checked reader (stored + deflate via zlib, zip64) and a
// writer of stored entries. Own implementation of PKWARE's APPNOTE.TXT; no code from miniz or
// caffe2's PyTorchStreamReader (see docs/checkpoints.md for why we do not use the latter).
#include "medsam/io/zip.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "medsam/core/error.h"

namespace medsam {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50;
constexpr uint32_t kEnd64LocatorSig = 0x07064b50;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kEndSize = 22;
constexpr size_t kMaxComment = 0xFFFF;

uint16_t le16(const unsigned char* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) { return uint32_t(le16(p)) | (uint32_t(le16(p + 2)) << 16); }
uint64_t le64(const unsigned char* p) { return uint64_t(le32(p)) | (uint64_t(le32(p + 4)) << 32); }

void put16(std::string& s, uint16_t v) {
  s.push_back(char(v & 0xFF));
  s.push_back(char(v >> 8));
}
void put32(std::string& s, uint32_t v) {
  put16(s, uint16_t(v & 0xFFFF));
  put16(s, uint16_t(v >> 16));
}
void put64(std::string& s, uint64_t v) {
  put32(s, uint32_t(v & 0xFFFFFFFFu));
  put32(s, uint32_t(v >> 32));
}

uint32_t crc32_of(const void* data, size_t n, uint32_t crc = 0) {
  auto* p = static_cast<const Bytef*>(data);
  while (n > 0) {
    const uInt chunk = uInt(std::min<size_t>(n, 1u << 30));
    crc = uint32_t(::crc32(crc, p, chunk));
    p += chunk;
    n -= chunk;
  }
  return crc;
}

class FileSource final : public ByteSource {
 public:
  explicit FileSource(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error(fmt::format("cannot open {}: {}", path_, std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      throw Error(fmt::format("cannot read {}: not a regular file", path_));
    }
    size_ = uint64_t(st.st_size);
  }
  ~FileSource() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return path_; }
  void read(uint64_t offset, void* dst, size_t n) const override {
    if (offset > size_ || n > size_ - offset)
      throw Error(fmt::format("{}: truncated file (read of {} bytes at offset {} past its end, {} bytes)", path_, n,
                              offset, size_));
    auto* out = static_cast<char*>(dst);
    while (n > 0) {
      const ssize_t got = ::pread(fd_, out, std::min<size_t>(n, 1u << 30), off_t(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) throw Error(fmt::format("{}: read failed at offset {}: {}", path_, offset, std::strerror(errno)));
      out += got;
      offset += uint64_t(got);
      n -= size_t(got);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

class MemorySource final : public ByteSource {
 public:
  MemorySource(std::string bytes, std::string name) : bytes_(std::move(bytes)), name_(std::move(name)) {}
  uint64_t size() const override { return bytes_.size(); }
  const std::string& name() const override { return name_; }
  void read(uint64_t offset, void* dst, size_t n) const override {
    if (offset > bytes_.size() || n > bytes_.size() - offset)
      throw Error(fmt::format("{}: truncated data (read of {} bytes at offset {} past its end, {} bytes)", name_, n,
                              offset, bytes_.size()));
    if (n > 0) std::memcpy(dst, bytes_.data() + offset, n);
  }

 private:
  std::string bytes_;
  std::string name_;
};

// Reads a zip64 extended-information extra field (id 1) for the fields that overflowed.
// ref: APPNOTE.TXT 4.5.3
void apply_zip64_extra(const unsigned char* extra, size_t len, ZipEntry& e, bool usize_big, bool csize_big,
                       bool offset_big, const std::string& archive) {
  size_t pos = 0;
  while (pos + 4 <= len) {
    const uint16_t id = le16(extra + pos), size = le16(extra + pos + 2);
    pos += 4;
    if (size > len - pos) break;
    if (id == 0x0001) {
      size_t q = pos;
      auto take = [&](uint64_t& field) {
        if (q + 8 > pos + size) throw Error(fmt::format("{}: zip64 field of entry '{}' is too short", archive, e.name));
        field = le64(extra + q);
        q += 8;
      };
      if (usize_big) take(e.size);
      if (csize_big) take(e.compressed_size);
      if (offset_big) take(e.local_header_offset);
      return;
    }
    pos += size;
  }
  if (usize_big || csize_big || offset_big)
    throw Error(fmt::format("{}: entry '{}' needs a zip64 field but has none", archive, e.name));
}

}  // namespace

std::unique_ptr<ByteSource> open_file_source(const std::string& path) { return std::make_unique<FileSource>(path); }

std::unique_ptr<ByteSource> memory_source(std::string bytes, std::string name) {
  return std::make_unique<MemorySource>(std::move(bytes), std::move(name));
}

bool looks_like_zip(const ByteSource& source) {
  if (source.size() < 4) return false;
  unsigned char sig[4];
  source.read(0, sig, 4);
  const uint32_t s = le32(sig);
  return s == kLocalSig || s == kEndSig;
}

// ref: APPNOTE.TXT 4.3.16 (end of central directory), 4.3.14/4.3.15 (zip64 end + locator)
ZipReader::ZipReader(std::shared_ptr<const ByteSource> source) : source_(std::move(source)) {
  const std::string& name = source_->name();
  const uint64_t file_size = source_->size();
  if (file_size < kEndSize) throw Error(fmt::format("{}: not a zip archive (only {} bytes)", name, file_size));

  // Find the end-of-central-directory record in the last 22 + 65535 bytes (its comment may follow).
  const uint64_t tail_len = std::min<uint64_t>(file_size, kEndSize + kMaxComment);
  std::vector<unsigned char> tail(tail_len);
  source_->read(file_size - tail_len, tail.data(), tail_len);
  int64_t end_pos = -1;
  for (int64_t i = int64_t(tail_len) - int64_t(kEndSize); i >= 0; --i) {
    if (le32(&tail[size_t(i)]) == kEndSig) {
      end_pos = i;
      break;
    }
  }
  if (end_pos < 0) {
    unsigned char head[4];
    source_->read(0, head, 4);
    if (le32(head) == kLocalSig)  // the start of a zip without its end: a copy or download cut short
      throw Error(fmt::format("{}: truncated zip archive: it starts as one but its end (the central directory) is "
                              "missing; the file is incomplete ({} bytes): copy or download it again",
                              name, file_size));
    throw Error(fmt::format("{}: not a zip archive (no end-of-central-directory record)", name));
  }
  const unsigned char* end = &tail[size_t(end_pos)];
  const uint64_t end_offset = file_size - tail_len + uint64_t(end_pos);
  uint64_t count = le16(end + 10);
  uint64_t cd_size = le32(end + 12);
  uint64_t cd_offset = le32(end + 16);

  if (end_offset >= 20 && (count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu)) {
    unsigned char loc[20];
    source_->read(end_offset - 20, loc, 20);
    if (le32(loc) != kEnd64LocatorSig) throw Error(fmt::format("{}: zip64 archive without its locator record", name));
    const uint64_t end64_offset = le64(loc + 8);
    unsigned char end64[56];
    source_->read(end64_offset, end64, sizeof end64);
    if (le32(end64) != kEnd64Sig) throw Error(fmt::format("{}: bad zip64 end-of-central-directory record", name));
    count = le64(end64 + 32);
    cd_size = le64(end64 + 40);
    cd_offset = le64(end64 + 48);
  }
  if (cd_offset > file_size || cd_size > file_size - cd_offset)
    throw Error(fmt::format("{}: truncated zip archive (central directory at {} + {} bytes is past the end, {} bytes)",
                            name, cd_offset, cd_size, file_size));
  if (count > cd_size / kCentralHeaderSize)
    throw Error(fmt::format("{}: zip central directory claims {} entries in {} bytes", name, count, cd_size));

  std::vector<unsigned char> cd(cd_size);
  source_->read(cd_offset, cd.data(), cd_size);
  entries_.reserve(count);
  size_t pos = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (cd_size - pos < kCentralHeaderSize || le32(&cd[pos]) != kCentralSig)
      throw Error(fmt::format("{}: corrupt zip central directory (entry {} of {})", name, i, count));
    const unsigned char* h = &cd[pos];
    const uint16_t flags = le16(h + 8);
    ZipEntry e;
    e.method = le16(h + 10);
    e.crc32 = le32(h + 16);
    e.compressed_size = le32(h + 20);
    e.size = le32(h + 24);
    const size_t name_len = le16(h + 28), extra_len = le16(h + 30), comment_len = le16(h + 32);
    e.local_header_offset = le32(h + 42);
    if (cd_size - pos - kCentralHeaderSize < name_len + extra_len + comment_len)
      throw Error(fmt::format("{}: corrupt zip central directory (entry {} runs past it)", name, i));
    e.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_len);
    apply_zip64_extra(h + kCentralHeaderSize + name_len, extra_len, e, e.size == 0xFFFFFFFFu,
                      e.compressed_size == 0xFFFFFFFFu, e.local_header_offset == 0xFFFFFFFFu, name);
    pos += kCentralHeaderSize + name_len + extra_len + comment_len;
    if (flags & 0x1) throw Error(fmt::format("{}: entry '{}' is encrypted", name, e.name));
    if (e.method != 0 && e.method != 8)
      throw Error(fmt::format("{}: entry '{}' uses compression method {} (only stored and deflate are supported)",
                              name, e.name, e.method));
    if (e.method == 0 && e.compressed_size != e.size)
      throw Error(fmt::format("{}: stored entry '{}' has compressed size {} != size {}", name, e.name,
                              e.compressed_size, e.size));
    if (e.local_header_offset > file_size || e.compressed_size > file_size - e.local_header_offset)
      throw Error(fmt::format("{}: truncated zip archive (entry '{}' lies past the end)", name, e.name));
    // Deflate cannot expand more than ~1032:1; a larger claim is a lie (or a bomb).
    if (e.method == 8 && e.size / 1032 > e.compressed_size + 1)
      throw Error(fmt::format("{}: entry '{}' claims {} bytes from {} compressed", name, e.name, e.size,
                              e.compressed_size));
    if (!index_.emplace(e.name, entries_.size()).second)
      throw Error(fmt::format("{}: duplicate zip entry '{}'", name, e.name));
    entries_.push_back(std::move(e));
  }
  check_no_overlap(cd_offset);
}

// Entries pointing at the same bytes would let a small file be read (and allocated) once per entry:
// every entry's local header, name and data must lie before the next one's and before the central
// directory. (CPython's zipfile refuses overlaps too.) The local extra field is not counted, so the
// check never refuses a well-formed archive.
void ZipReader::check_no_overlap(uint64_t cd_offset) const {
  std::vector<const ZipEntry*> by_offset;
  for (const auto& e : entries_) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const ZipEntry* a, const ZipEntry* b) { return a->local_header_offset < b->local_header_offset; });
  for (size_t i = 0; i < by_offset.size(); ++i) {
    const ZipEntry& e = *by_offset[i];
    // Each term is at most the file size (checked above), so the sum cannot wrap.
    const uint64_t end = e.local_header_offset + kLocalHeaderSize + e.name.size() + e.compressed_size;
    const uint64_t next = i + 1 < by_offset.size() ? by_offset[i + 1]->local_header_offset : cd_offset;
    if (end > next)
      throw Error(fmt::format("{}: zip entries overlap: '{}' (bytes {}..{}) runs into {} at {}", name(), e.name,
                              e.local_header_offset, end,
                              i + 1 < by_offset.size() ? "'" + by_offset[i + 1]->name + "'" : "the central directory",
                              next));
  }
}

const ZipEntry* ZipReader::find(const std::string& entry_name) const {
  auto it = index_.find(entry_name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

const ZipEntry& ZipReader::at(const std::string& entry_name) const {
  if (const ZipEntry* e = find(entry_name)) return *e;
  throw Error(fmt::format("{}: zip archive has no entry '{}'", name(), entry_name));
}

// ref: APPNOTE.TXT 4.3.7 (local file header)
uint64_t ZipReader::data_offset(const ZipEntry& e) const {
  unsigned char h[kLocalHeaderSize];
  source_->read(e.local_header_offset, h, sizeof h);
  if (le32(h) != kLocalSig) throw Error(fmt::format("{}: entry '{}' has a bad local header", name(), e.name));
  const uint64_t offset = e.local_header_offset + kLocalHeaderSize + le16(h + 26) + le16(h + 28);
  if (offset > source_->size() || e.compressed_size > source_->size() - offset)
    throw Error(fmt::format("{}: truncated zip archive (data of entry '{}' lies past the end)", name(), e.name));
  return offset;
}

void ZipReader::read(const ZipEntry& e, void* dst) const {
  const uint64_t offset = data_offset(e);
  uint32_t crc = 0;
  if (e.method == 0) {
    source_->read(offset, dst, e.size);
    crc = crc32_of(dst, e.size);
  } else {
    // Raw deflate (no zlib header), fed in 1 MiB chunks and bounded by both declared sizes.
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw Error(fmt::format("{}: zlib init failed", name()));
    std::vector<unsigned char> in(std::min<uint64_t>(e.compressed_size, 1u << 20) + 1);
    uint64_t consumed = 0, produced = 0;
    auto* out = static_cast<unsigned char*>(dst);
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      if (zs.avail_in == 0) {
        const size_t n = size_t(std::min<uint64_t>(e.compressed_size - consumed, in.size()));
        if (n == 0) break;
        source_->read(offset + consumed, in.data(), n);
        consumed += n;
        zs.next_in = in.data();
        zs.avail_in = uInt(n);
      }
      const uint64_t room = e.size - produced;
      unsigned char spare;
      zs.next_out = room > 0 ? out + produced : &spare;  // a byte of slack detects overlong streams
      zs.avail_out = uInt(room > 0 ? std::min<uint64_t>(room, 1u << 30) : 1);
      const uInt before = zs.avail_out;
      rc = inflate(&zs, Z_NO_FLUSH);
      const uint64_t made = before - zs.avail_out;
      if (room == 0 && made > 0) rc = Z_DATA_ERROR;
      produced += room > 0 ? made : 0;
      if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && zs.avail_in == 0)) break;
    }
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || produced != e.size)
      throw Error(fmt::format("{}: entry '{}' is corrupt (deflate stream gave {} of {} bytes)", name(), e.name,
                              produced, e.size));
    crc = crc32_of(dst, e.size);
  }
  if (crc != e.crc32)
    throw Error(fmt::format("{}: entry '{}' is corrupt (CRC-32 {:08x}, expected {:08x})", name(), e.name, crc, e.crc32));
}

std::string ZipReader::read_string(const ZipEntry& e) const {
  std::string s(e.size, '\0');
  read(e, s.data());
  return s;
}

ZipWriter::ZipWriter(const std::string& path, size_t alignment) : path_(path), alignment_(std::max<size_t>(alignment, 1)) {
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_) throw Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
}

ZipWriter::~ZipWriter() {
  if (file_) std::fclose(file_);
}

void ZipWriter::write(const void* data, size_t n) {
  if (n > 0 && std::fwrite(data, 1, n, file_) != n)
    throw Error(fmt::format("cannot write {}: {}", path_, std::strerror(errno)));
  offset_ += n;
}

// ref: APPNOTE.TXT 4.3.7; the padding extra field (id 0x4246, "FB") is what torch.save uses too.
void ZipWriter::add(const std::string& name, const void* data, size_t size) {
  if (finished_) throw Error(fmt::format("{}: zip entry '{}' added after finish()", path_, name));
  if (name.size() > 0xFFFF) throw Error(fmt::format("{}: zip entry name too long", path_));
  ZipEntry e;
  e.name = name;
  e.size = e.compressed_size = size;
  e.crc32 = crc32_of(data, size);
  e.local_header_offset = offset_;
  const bool big = size >= 0xFFFFFFFFu;
  std::string h;
  put32(h, kLocalSig);
  put16(h, big ? 45 : 20);
  put16(h, 0);  // flags
  put16(h, 0);  // stored
  put16(h, 0);  // time
  put16(h, 0x21);  // date 1980-01-01
  put32(h, e.crc32);
  put32(h, big ? 0xFFFFFFFFu : uint32_t(size));
  put32(h, big ? 0xFFFFFFFFu : uint32_t(size));
  std::string extra;
  if (big) {
    put16(extra, 0x0001);
    put16(extra, 16);
    put64(extra, size);
    put64(extra, size);
  }
  uint64_t data_at = offset_ + kLocalHeaderSize + name.size() + extra.size();
  if (data_at % alignment_ != 0) {
    size_t pad = alignment_ - data_at % alignment_;
    if (pad < 4) pad += alignment_;
    put16(extra, 0x4246);
    put16(extra, uint16_t(pad - 4));
    extra.append(pad - 4, 'Z');
  }
  put16(h, uint16_t(name.size()));
  put16(h, uint16_t(extra.size()));
  h += name;
  h += extra;
  write(h.data(), h.size());
  write(data, size);
  entries_.push_back(std::move(e));
}

// ref: APPNOTE.TXT 4.3.12, 4.3.14-4.3.16
void ZipWriter::finish() {
  if (finished_) return;
  const uint64_t cd_offset = offset_;
  for (const ZipEntry& e : entries_) {
    const bool big_size = e.size >= 0xFFFFFFFFu, big_off = e.local_header_offset >= 0xFFFFFFFFu;
    std::string extra;
    if (big_size || big_off) {
      put16(extra, 0x0001);
      put16(extra, uint16_t((big_size ? 16 : 0) + (big_off ? 8 : 0)));
      if (big_size) {
        put64(extra, e.size);
        put64(extra, e.compressed_size);
      }
      if (big_off) put64(extra, e.local_header_offset);
    }
    std::string h;
    put32(h, kCentralSig);
    put16(h, 45);  // made by
    put16(h, (big_size || big_off) ? 45 : 20);
    put16(h, 0);
    put16(h, 0);
    put16(h, 0);
    put16(h, 0x21);
    put32(h, e.crc32);
    put32(h, big_size ? 0xFFFFFFFFu : uint32_t(e.compressed_size));
    put32(h, big_size ? 0xFFFFFFFFu : uint32_t(e.size));
    put16(h, uint16_t(e.name.size()));
    put16(h, uint16_t(extra.size()));
    put16(h, 0);  // comment
    put16(h, 0);  // disk
    put16(h, 0);  // internal attributes
    put32(h, 0);  // external attributes
    put32(h, big_off ? 0xFFFFFFFFu : uint32_t(e.local_header_offset));
    h += e.name;
    h += extra;
    write(h.data(), h.size());
  }
  const uint64_t cd_size = offset_ - cd_offset;
  const bool zip64 = entries_.size() >= 0xFFFF || cd_offset >= 0xFFFFFFFFu || cd_size >= 0xFFFFFFFFu;
  std::string t;
  if (zip64) {
    const uint64_t end64_offset = offset_;
    put32(t, kEnd64Sig);
    put64(t, 44);
    put16(t, 45);
    put16(t, 45);
    put32(t, 0);
    put32(t, 0);
    put64(t, entries_.size());
    put64(t, entries_.size());
    put64(t, cd_size);
    put64(t, cd_offset);
    put32(t, kEnd64LocatorSig);
    put32(t, 0);
    put64(t, end64_offset);
    put32(t, 1);
  }
  put32(t, kEndSig);
  put16(t, 0);
  put16(t, 0);
  put16(t, zip64 ? 0xFFFF : uint16_t(entries_.size()));
  put16(t, zip64 ? 0xFFFF : uint16_t(entries_.size()));
  put32(t, zip64 ? 0xFFFFFFFFu : uint32_t(cd_size));
  put32(t, zip64 ? 0xFFFFFFFFu : uint32_t(cd_offset));
  put16(t, 0);
  write(t.data(), t.size());
  finished_ = true;
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) throw Error(fmt::format("cannot write {}: {}", path_, std::strerror(errno)));
}

}  // namespace medsam

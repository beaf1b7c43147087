// ustar member headers as POSIX.1-1988 defines them (the layout GNU tar and Python's tarfile read).
#include "medsam/io/tar_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "medsam/core/error.h"

namespace medsam::io {
namespace {

// Octal, zero-padded, NUL-terminated, in a field of `width` bytes.
void put_octal(char* field, int width, std::uint64_t value) {
  const std::string s = fmt::format("{:0{}o}", value, width - 1);
  if (static_cast<int>(s.size()) > width - 1) throw Error(fmt::format("tar: value {} does not fit the header", value));
  std::memcpy(field, s.data(), s.size());
  field[width - 1] = '\0';
}

}  // namespace

const char* ustar_name_problem(const std::string& name) {
  if (name.size() <= 100) return nullptr;
  const auto slash = name.rfind('/', 155);
  if (slash == std::string::npos || name.size() - slash - 1 > 100)
    return "is too long for ustar (a name of up to 100 bytes after a prefix of up to 155, split at a '/')";
  return nullptr;
}

TarWriter::TarWriter(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(fmt::format("{}: cannot create: {}", path, std::strerror(errno)));
}

TarWriter::~TarWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void TarWriter::write_all(const void* data, std::uint64_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(fmt::format("{}: write failed: {}", path_, std::strerror(errno)));
    }
    p += n;
    size -= static_cast<std::uint64_t>(n);
    offset_ += static_cast<std::uint64_t>(n);
  }
}

std::uint64_t TarWriter::append(const std::string& name, const void* data, std::uint64_t size) {
  if (fd_ < 0) throw Error(fmt::format("{}: archive already finished", path_));
  char header[512] = {};
  // ref: POSIX ustar header: name[100] mode[8] uid[8] gid[8] size[12] mtime[12] chksum[8] typeflag[1]
  //      linkname[100] magic[6] version[2] uname[32] gname[32] devmajor[8] devminor[8] prefix[155]
  if (const char* problem = ustar_name_problem(name))
    throw Error(fmt::format("{}: member name '{}' {}", path_, name, problem));
  std::string prefix, base = name;
  if (name.size() > 100) {
    const auto slash = name.rfind('/', 155);
    prefix = name.substr(0, slash);
    base = name.substr(slash + 1);
  }
  std::memcpy(header, base.data(), base.size());
  put_octal(header + 100, 8, 0644);
  put_octal(header + 108, 8, 0);
  put_octal(header + 116, 8, 0);
  put_octal(header + 124, 12, size);
  put_octal(header + 136, 12, 0);
  header[156] = '0';
  std::memcpy(header + 257, "ustar", 6);
  std::memcpy(header + 263, "00", 2);
  std::memcpy(header + 345, prefix.data(), prefix.size());
  std::memset(header + 148, ' ', 8);  // checksum is computed with its own field as spaces
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  const std::string chk = fmt::format("{:06o}", sum);
  std::memcpy(header + 148, chk.data(), 6);
  header[154] = '\0';
  header[155] = ' ';

  write_all(header, sizeof header);
  const std::uint64_t data_offset = offset_;
  write_all(data, size);
  static const char zeros[512] = {};
  write_all(zeros, tar_padded(size) - size);
  return data_offset;
}

void TarWriter::finish() {
  if (fd_ < 0) return;
  static const char zeros[1024] = {};
  write_all(zeros, sizeof zeros);
  if (::fsync(fd_) != 0) throw Error(fmt::format("{}: fsync failed: {}", path_, std::strerror(errno)));
  if (::close(fd_) != 0) throw Error(fmt::format("{}: close failed: {}", path_, std::strerror(errno)));
  fd_ = -1;
}

}  // namespace medsam::io

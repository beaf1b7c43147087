#include "medsam/io/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <vector>

#include "medsam/core/directory.h"
#include "medsam/core/error.h"

namespace medsam {
namespace {

// Data reaches the disk before the rename makes it visible; otherwise a power cut after rename
// could leave an empty file under the final name.
void fsync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(fmt::format("{}: cannot reopen to flush: {}", path, std::strerror(errno)));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw Error(fmt::format("{}: cannot flush to disk: {}", path, std::strerror(err)));
}

// The rename itself is an entry in the folder: until the folder is flushed, a power cut can undo it
// (the log would say "checkpoint written" of a file that is gone). Best effort: the file is in place
// whatever this returns, and some file systems refuse fsync on a folder.
void fsync_folder_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

void commit_file(const std::string& tmp_path, const std::string& path) {
  fsync_file(tmp_path);
  if (std::rename(tmp_path.c_str(), path.c_str()) != 0)
    throw Error(fmt::format("cannot write {}: rename from {} failed: {}", path, tmp_path, std::strerror(errno)));
  fsync_folder_of(path);
}

std::string temporary_path_for(const std::string& path) { return fmt::format("{}.tmp.{}", path, ::getpid()); }

long temporary_writer_pid(const std::string& name) {
  const auto at = name.rfind(".tmp.");
  if (at == std::string::npos || at == 0) return -1;
  const std::string digits = name.substr(at + 5);
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stol(digits);
}

std::string temporary_path_keeping_extension(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const auto name_start = slash == std::string::npos ? 0 : slash + 1;
  auto dot = path.find_last_of('.');
  if (dot == std::string::npos || dot <= name_start) return temporary_path_for(path);  // no extension
  for (const char* compressed : {".gz", ".bz2", ".zst"}) {
    if (path.compare(dot, std::string::npos, compressed) != 0) continue;
    const auto inner = path.find_last_of('.', dot - 1);
    if (inner != std::string::npos && inner > name_start) dot = inner;
  }
  return fmt::format("{}.tmp.{}{}", path.substr(0, dot), ::getpid(), path.substr(dot));
}

namespace {

void write_through(const std::string& tmp, const std::string& path,
                   const std::function<void(const std::string& tmp_path)>& write) {
  try {
    write(tmp);
    commit_file(tmp, path);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

}  // namespace

void write_atomically_as_file_set(const std::string& path,
                                  const std::function<void(const std::string& tmp_path)>& write) {
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::string staging = fmt::format("{}/.{}.tmp.{}", dir, name, ::getpid());
  std::error_code ec;
  remove_tree(staging, ec);  // a leftover of a crashed writer with our pid
  if (::mkdir(staging.c_str(), 0755) != 0)
    throw Error(fmt::format("cannot write {}: cannot create {}: {}", path, staging, std::strerror(errno)));
  try {
    write(staging + "/" + name);
    std::vector<std::string> data_files;
    bool header = false;
    for (const auto& e : list_directory(staging)) {
      if (!e.is_regular_file) continue;
      if (e.name == name) header = true;
      else data_files.push_back(e.name);
    }
    if (!header) throw Error(fmt::format("cannot write {}: the writer did not create it", path));
    for (const auto& f : data_files) commit_file(staging + "/" + f, dir + "/" + f);
    commit_file(staging + "/" + name, path);
    remove_tree(staging);
  } catch (...) {
    remove_tree(staging, ec);
    throw;
  }
}

void write_atomically_keeping_extension(const std::string& path,
                                        const std::function<void(const std::string& tmp_path)>& write) {
  write_through(temporary_path_keeping_extension(path), path, write);
}

void write_atomically(const std::string& path, const std::function<void(const std::string& tmp_path)>& write) {
  write_through(temporary_path_for(path), path, write);
}

void check_output_folder(const std::string& path, const std::string& flag) {
  if (path.empty()) return;
  const auto slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0)
    throw Error(fmt::format("{} {}: cannot write it: folder {}: {}", flag, path, folder, std::strerror(errno)));
  if (!S_ISDIR(st.st_mode)) throw Error(fmt::format("{} {}: cannot write it: {} is not a folder", flag, path, folder));
}

void write_file_atomically(const std::string& path, const std::string& content) {
  write_atomically(path, [&](const std::string& tmp) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(fmt::format("{}: cannot create: {}", tmp, std::strerror(errno)));
    const char* p = content.data();
    size_t left = content.size();
    while (left > 0) {
      const ssize_t n = ::write(fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        throw Error(fmt::format("{}: write failed: {}", tmp, std::strerror(err)));
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    if (::close(fd) != 0) throw Error(fmt::format("{}: cannot close: {}", tmp, std::strerror(errno)));
  });
}

}  // namespace medsam

#include "data_prep/output_lock.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "medsam/core/error.h"

namespace medsam::prep {
namespace {

// The pid the holder wrote ("unknown" while it is still writing it).
std::string holder_pid(int fd) {
  char buffer[32] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  std::string pid(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

OutputLock::OutputLock(const std::string& dir) {
  const std::string path = dir + "/" + kFileName;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw Error(fmt::format("{}: cannot open the output folder's lock file: {}", path, std::strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string pid = err == EWOULDBLOCK ? holder_pid(fd_) : "";
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw Error(fmt::format("{}: another medsam prep (pid {}) is writing to this folder ({} is locked); wait for "
                              "it to finish or choose another --output",
                              dir, pid, kFileName));
    throw Error(fmt::format("{}: cannot lock: {}", path, std::strerror(err)));
  }
  const std::string pid = fmt::format("{}\n", ::getpid());
  // Best effort: without it the lock still holds, and a second run names the holder "unknown".
  const bool written = ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) ==
                                                        static_cast<ssize_t>(pid.size());
  static_cast<void>(written);
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  // The pid goes with the run, so two folders prepared alike stay byte-identical; a killed run leaves
  // its pid here, and the lock itself ends with the process.
  const bool cleared = ::ftruncate(fd_, 0) == 0;
  static_cast<void>(cleared);
  ::close(fd_);
}

}  // namespace medsam::prep

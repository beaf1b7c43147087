// One `medsam prep` at a time per output folder: two runs into one folder would write the same shard
// names (their temporary names carry no pid) and each rewrite the other's manifest.
#pragma once

#include <string>

namespace medsam::prep {

class OutputLock {
 public:
  // Takes flock(LOCK_EX | LOCK_NB) on DIR/.prep.lock (created if missing) and writes this process's id
  // into it. Throws Error naming the folder and the holding process's id when another process holds it.
  explicit OutputLock(const std::string& dir);
  // Empties the file and closes it, which releases the lock. The file stays: removing it would let a
  // third run lock a new file while a second one has the old one open.
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  static constexpr const char* kFileName = ".prep.lock";

 private:
  int fd_ = -1;
};

}  // namespace medsam::prep

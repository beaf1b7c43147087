#include "medsam/data/open_file_limit.h"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "medsam/core/error.h"
#include "medsam/core/log.h"

namespace medsam::data {

namespace {
constexpr std::int64_t kMargin = 256;  // checkpoints, logs, TensorBoard, c10d sockets, image files
}

std::int64_t open_file_count() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return 0;
  std::int64_t n = 0;
  while (const dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n - 1;  // the descriptor opendir holds
}

void reserve_open_files(std::int64_t more, const std::string& what) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const std::int64_t needed = open_file_count() + more + kMargin;
  const auto fits = [&](rlim_t l) { return l == RLIM_INFINITY || static_cast<std::int64_t>(l) >= needed; };
  if (fits(limit.rlim_cur)) return;
  if (!fits(limit.rlim_max))
    throw Error(fmt::format("{}: {} shard files stay open during training, but this process may open only {} files "
                            "(the hard limit, `ulimit -Hn`). Raise it (limits.conf, or the scheduler's limit on "
                            "open files), or prep with larger shards (output.shard_bytes in the prep config) so there are fewer",
                            what, more, static_cast<std::int64_t>(limit.rlim_max)));
  const rlim_t old = limit.rlim_cur;
  limit.rlim_cur = static_cast<rlim_t>(needed);
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
    throw Error(fmt::format("{}: {} shard files stay open; raising the open-file limit from {} to {} failed: {}", what,
                            more, static_cast<std::int64_t>(old), needed, std::strerror(errno)));
  log_info("{}: open-file limit raised from {} to {} for {} shards", what, static_cast<std::int64_t>(old), needed, more);
}

}  // namespace medsam::data

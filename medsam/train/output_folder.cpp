#include "medsam/train/output_folder.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <system_error>

#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "medsam/core/directory.h"
#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/io/atomic_file.h"
#include "medsam/train/checkpoint.h"

namespace medsam::train {
namespace {

bool process_exists(long pid) {
  // kill(pid, 0) checks without signalling; EPERM means it exists under another user.
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

}  // namespace

std::string run_folder_of(const std::string& resume_path) {
  struct stat st {};
  if (::stat(resume_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return resume_path;
  const auto slash = resume_path.find_last_of('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : resume_path.substr(0, slash);
}

bool same_folder(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && S_ISDIR(sa.st_mode) &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void check_no_earlier_run(const std::string& dir, const std::string& resuming_from) {
  const std::vector<std::string> found = list_checkpoints(dir);
  if (found.empty()) return;
  if (!resuming_from.empty())
    throw Error(fmt::format(
        "--resume {} writes into {}, which holds {} step checkpoint(s) of another run (newest: {}); resuming "
        "there would move that run's later checkpoints aside and prune its older ones as this run's. Write "
        "into the resumed run's folder {} (leave out --output), into an empty folder, or continue the other "
        "run with --resume {}",
        resuming_from, dir, found.size(), found.back(), run_folder_of(resuming_from), dir));
  throw Error(fmt::format(
      "output directory {} already holds {} step checkpoint(s) of a run (newest: {}); a new run there would "
      "have its own checkpoints pruned as older and `--resume {}` would pick the other run's. Continue that "
      "run with --resume {}, write this one elsewhere (--output / train.output_dir), or remove its "
      "checkpoint_step_*.pth files",
      dir, found.size(), found.back(), dir, dir));
}

std::vector<std::string> set_aside_later_checkpoints(const std::string& dir, int64_t step) {
  std::vector<std::string> moved;
  for (const std::string& path : list_checkpoints(dir)) {
    const int64_t later = checkpoint_step(path);
    if (later <= step) continue;
    const std::string aside_dir = dir + "/superseded";
    if (::mkdir(aside_dir.c_str(), 0755) != 0 && errno != EEXIST)
      throw Error(fmt::format("cannot create {}: {}", aside_dir, std::strerror(errno)));
    const std::string target = aside_dir + "/" + path.substr(path.find_last_of('/') + 1);
    if (std::rename(path.c_str(), target.c_str()) != 0)
      throw Error(fmt::format("cannot move {} to {}: {}", path, target, std::strerror(errno)));
    log_warn("{} is from a later step ({}) than this resume ({}): moved to {}, so that pruning and --resume "
             "see this run's checkpoints only", path, later, step, target);
    moved.push_back(target);
  }
  return moved;
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;  // an unreadable folder has nothing to clean; check_output_dir reports it
  for (const DirectoryEntry& e : list_directory(dir, ec)) {
    const long writer = e.is_regular_file ? temporary_writer_pid(e.name) : -1;
    if (writer < 0) continue;
    struct stat st {};
    // Our own pid is no live writer: this runs before we write anything, and in a container the trainer
    // is PID 1 at every restart, so a killed run's temporary carries the pid we have now.
    if ((writer != static_cast<long>(::getpid()) && process_exists(writer)) || ::stat(e.path.c_str(), &st) != 0 ||
        std::difftime(std::time(nullptr), st.st_mtime) < 60)
      continue;
    if (std::remove(e.path.c_str()) != 0) {
      log_warn("could not remove {}, left by an interrupted write: {}", e.path, std::strerror(errno));
      continue;
    }
    log_warn("removed {} ({} MB), the temporary of a write interrupted before it finished", e.path,
             st.st_size >> 20);
    removed.push_back(e.path);
  }
  return removed;
}

}  // namespace medsam::train

#include "medsam/core/directory.h"

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace medsam {

std::vector<DirectoryEntry> list_directory(const std::string& dir, std::error_code& ec) {
  ec.clear();
  std::vector<DirectoryEntry> entries;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    ec = std::error_code(errno, std::generic_category());
    return entries;
  }
  errno = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    DirectoryEntry entry;
    entry.path = dir + (dir.empty() || dir.back() == '/' ? "" : "/") + name;
    entry.name = name;
    struct stat st {};
    if (::stat(entry.path.c_str(), &st) == 0) {  // follows symlinks; a dangling one is neither
      entry.is_directory = S_ISDIR(st.st_mode);
      entry.is_regular_file = S_ISREG(st.st_mode);
    }
    entries.push_back(std::move(entry));
    errno = 0;
  }
  if (errno != 0) ec = std::error_code(errno, std::generic_category());
  ::closedir(d);
  std::sort(entries.begin(), entries.end(),
            [](const DirectoryEntry& a, const DirectoryEntry& b) { return a.name < b.name; });
  return entries;
}

std::vector<DirectoryEntry> list_directory(const std::string& dir) {
  std::error_code ec;
  auto entries = list_directory(dir, ec);
  if (ec) throw std::system_error(ec, "cannot list folder '" + dir + "'");
  return entries;
}

namespace {
// nftw takes a plain function: the walk's state lives here, one walk per thread at a time.
thread_local std::uintmax_t t_removed = 0;
thread_local std::string t_failed;
thread_local int t_errno = 0;

int remove_one(const char* path, const struct stat*, int, struct FTW*) {
  if (std::remove(path) != 0) {  // remove(): unlink for files and symlinks, rmdir for (emptied) folders
    t_errno = errno;
    t_failed = path;
    return 1;  // stops the walk
  }
  ++t_removed;
  return 0;
}
}  // namespace

std::uintmax_t remove_tree(const std::string& path, std::error_code& ec) {
  ec.clear();
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) ec = std::error_code(errno, std::generic_category());
    return 0;
  }
  t_removed = 0;
  t_failed.clear();
  t_errno = 0;
  // FTW_DEPTH: a folder after its contents; FTW_PHYS: symlinks are entries, never followed.
  const int rc = ::nftw(path.c_str(), remove_one, 32, FTW_DEPTH | FTW_PHYS);
  if (rc != 0) ec = std::error_code(t_errno != 0 ? t_errno : errno, std::generic_category());
  return t_removed;
}

std::uintmax_t remove_tree(const std::string& path) {
  std::error_code ec;
  const auto removed = remove_tree(path, ec);
  if (ec) throw std::system_error(ec, "cannot remove '" + (t_failed.empty() ? path : t_failed) + "'");
  return removed;
}

}  // namespace medsam

// Listing and removing folders with POSIX calls instead of std::filesystem's directory iterators.
// pip's LibTorch 2.x exports a static copy of parts of libstdc++'s std::filesystem
// (pytorch/pytorch#133437). An executable linked with it can have its std:: calls bound to that copy
// (on the H200 node the toolchain links libstdc++ statically, so libtorch.so supplied every std::
// symbol), and there recursive_directory_iterator and remove_all crashed: 111 of 339 tests on torch 2.11.
// The rest of std::filesystem (paths, create_directories, exists, rename, file_size) worked there.
// docs/gpu.md has the story; tests/core/directory_test.cpp the checks.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

namespace medsam {

struct DirectoryEntry {
  std::string path;  // dir + "/" + name
  std::string name;
  bool is_directory = false;     // after following a symlink, as std::filesystem::directory_entry says
  bool is_regular_file = false;  // likewise
};

// The entries of `dir` without "." and "..", sorted by name. The first form throws std::system_error
// naming the folder when it cannot be read; the second reports that in `ec` and returns what it has.
std::vector<DirectoryEntry> list_directory(const std::string& dir);
std::vector<DirectoryEntry> list_directory(const std::string& dir, std::error_code& ec);

// Removes `path` and, for a folder, everything below it (symlinks are removed, never followed): what
// std::filesystem::remove_all does. Returns the number of entries removed, 0 when nothing was there.
// The first form throws std::system_error naming the entry it could not remove; the second sets `ec`.
std::uintmax_t remove_tree(const std::string& path);
std::uintmax_t remove_tree(const std::string& path, std::error_code& ec);

}  // namespace medsam

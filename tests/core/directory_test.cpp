// medsam::list_directory and medsam::remove_tree, the POSIX stand-ins for std::filesystem's directory
// iterators and remove_all, which crashed in executables linked with pip's LibTorch 2.11 (medsam/core/directory.h).
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "medsam/core/directory.h"
#include "tests/support/run_command.h"

using medsam::DirectoryEntry;

namespace {
void touch(const std::string& path) { std::ofstream(path) << path; }
}  // namespace

TEST_CASE("list_directory gives a folder's entries sorted by name, with their kinds", "[core][directory]") {
  const std::string root = medsam::test::temp_dir("list_directory");
  std::filesystem::create_directories(root + "/b_folder/inner");
  touch(root + "/c.txt");
  touch(root + "/a.txt");
  touch(root + "/.hidden");
  REQUIRE(::symlink((root + "/a.txt").c_str(), (root + "/d_link").c_str()) == 0);
  REQUIRE(::symlink((root + "/gone").c_str(), (root + "/e_dangling").c_str()) == 0);

  const std::vector<DirectoryEntry> entries = medsam::list_directory(root);
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{".hidden", "a.txt", "b_folder", "c.txt", "d_link", "e_dangling"});
  CHECK(entries[1].path == root + "/a.txt");
  CHECK((entries[1].is_regular_file && !entries[1].is_directory));
  CHECK((entries[2].is_directory && !entries[2].is_regular_file));
  CHECK(entries[4].is_regular_file);  // a symlink counts as what it points to
  CHECK((!entries[5].is_regular_file && !entries[5].is_directory));
  CHECK(medsam::list_directory(root + "/b_folder/inner").empty());

  std::error_code ec;
  CHECK(medsam::list_directory(root + "/missing", ec).empty());
  CHECK(ec == std::errc::no_such_file_or_directory);
  CHECK_THROWS_WITH(medsam::list_directory(root + "/missing"), Catch::Contains(root + "/missing"));
}

TEST_CASE("remove_tree removes a nested folder, counting entries, and never follows a symlink", "[core][directory]") {
  const std::string root = medsam::test::temp_dir("remove_tree");
  const std::string keep = medsam::test::temp_dir("remove_tree_kept");
  touch(keep + "/precious.txt");
  std::filesystem::create_directories(root + "/a/b/c");
  std::filesystem::create_directories(root + "/e");
  for (const char* f : {"/a/x.txt", "/a/b/c/y.txt", "/e/w.txt"}) touch(root + f);
  REQUIRE(::symlink(keep.c_str(), (root + "/a/link_to_kept").c_str()) == 0);

  CHECK(medsam::remove_tree(root + "/a") == 6);  // a, x.txt, b, c, y.txt, the link
  CHECK(std::filesystem::exists(keep + "/precious.txt"));
  CHECK(medsam::remove_tree(root) == 3);  // root, e, w.txt
  CHECK_FALSE(std::filesystem::exists(root));
  CHECK(medsam::remove_tree(root) == 0);  // nothing there: nothing to do, no error
  touch(keep + "/single.txt");
  CHECK(medsam::remove_tree(keep + "/single.txt") == 1);  // a plain file

  if (::geteuid() != 0) {  // root may delete anything: the failure below cannot happen for it
    std::filesystem::create_directories(keep + "/locked/sub");
    touch(keep + "/locked/sub/f.txt");
    ::chmod((keep + "/locked/sub").c_str(), 0500);
    CHECK_THROWS_WITH(medsam::remove_tree(keep + "/locked"), Catch::Contains(keep + "/locked/sub/f.txt"));
    ::chmod((keep + "/locked/sub").c_str(), 0700);
  }
}

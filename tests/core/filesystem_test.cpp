// std::filesystem next to LibTorch: pip's LibTorch 2.x exports its own static copy of parts of libstdc++'s
// std::filesystem (pytorch/pytorch#133437). Bound to that copy, removing a non-empty folder crashed every
// test that used a temp folder on an H200 node (torch 2.11). cmake/MedsamCompiler.cmake puts libstdc++
// first in the search order; these tests fail (or crash) when a build loses that.
#include <catch2/catch.hpp>
#include <dlfcn.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/run_command.h"

namespace fs = std::filesystem;

TEST_CASE("std::filesystem walks and removes a nested folder tree in a process linked with LibTorch", "[core][filesystem]") {
  const fs::path root = medsam::test::temp_dir("fs_tree");
  for (const char* sub : {"a/b/c", "a/d", "e"}) fs::create_directories(root / sub);
  for (const char* file : {"a/x.txt", "a/b/c/y.txt", "a/d/z.txt", "e/w.txt"}) std::ofstream(root / file) << file;

  int dirs = 0, files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) (entry.is_directory() ? dirs : files)++;
  CHECK(dirs == 5);
  CHECK(files == 4);

  // Twice over the same tree, as temp_dir does for every test after its first: the call that crashed.
  CHECK(fs::remove_all(root / "a") == 7);
  CHECK(fs::remove_all(root) == 3);
  CHECK_FALSE(fs::exists(root));
}

TEST_CASE("std::filesystem calls bind to libstdc++, not to a copy inside LibTorch", "[core][filesystem]") {
  // The address of the function as the dynamic linker bound it for this executable.
  auto* remove_all = static_cast<std::uintmax_t (*)(const fs::path&)>(&fs::remove_all);
  Dl_info info{};
  REQUIRE(dladdr(reinterpret_cast<void*>(remove_all), &info) != 0);
  const std::string from = info.dli_fname ? info.dli_fname : "";
  INFO("std::filesystem::remove_all is bound to " << from);
  CHECK(from.find("torch") == std::string::npos);
}

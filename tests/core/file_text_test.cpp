// read_file_bytes: whole files in, and one error naming the file, its purpose and the reason otherwise.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "medsam/core/error.h"
#include "medsam/core/file_text.h"
#include "tests/support/run_command.h"

using namespace medsam;

TEST_CASE("read_file_bytes reads binary content whole and names the file, purpose and reason on failure",
          "[core]") {
  const std::string dir = test::temp_dir("file_text");
  std::string bytes(200000, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
  std::ofstream(dir + "/blob.bin", std::ios::binary) << bytes;
  CHECK(read_file_bytes(dir + "/blob.bin", "test blob") == bytes);  // past one 64 KiB read, NULs kept
  std::ofstream(dir + "/empty.txt");
  CHECK(read_file_bytes(dir + "/empty.txt", "list").empty());
  CHECK_THROWS_WITH(read_file_bytes(dir + "/missing.csv", "box file"),
                    Catch::Contains("missing.csv: cannot read box file: No such file or directory"));
  // std::ifstream opens a folder and reads nothing; here it is an error.
  CHECK_THROWS_WITH(read_file_bytes(dir, "manifest"), Catch::Contains(": cannot read manifest: Is a directory"));
}

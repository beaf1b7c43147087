// Atomic writes: temporaries beside the target, named so format-by-name writers (OpenCV, ITK) still work,
// and nothing of them left once a write succeeded or failed.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <fstream>
#include <iterator>
#include <string>

#include <unistd.h>

#include "medsam/core/directory.h"
#include "medsam/core/error.h"
#include "medsam/io/atomic_file.h"
#include "medsam/io/image.h"
#include "tests/support/run_command.h"

using namespace medsam;

TEST_CASE("temporaries keep the extension a writer chooses its format by", "[io][atomic]") {
  const std::string pid = std::to_string(::getpid());
  CHECK(temporary_path_keeping_extension("out/mask.png") == "out/mask.tmp." + pid + ".png");
  CHECK(temporary_path_keeping_extension("/d/ct.nii.gz") == "/d/ct.tmp." + pid + ".nii.gz");
  CHECK(temporary_path_keeping_extension("a.b/seg.nrrd") == "a.b/seg.tmp." + pid + ".nrrd");
  CHECK(temporary_path_keeping_extension("a.b/noext") == "a.b/noext.tmp." + pid);  // the folder's dot is not one
  CHECK(temporary_path_keeping_extension("x.gz") == "x.tmp." + pid + ".gz");
  CHECK(temporary_path_for("run/checkpoint.pth") == "run/checkpoint.pth.tmp." + pid);
  // ... and back: the writer's pid of such a name, -1 for any other.
  CHECK(temporary_writer_pid("checkpoint.pth.tmp." + pid) == ::getpid());
  CHECK(temporary_writer_pid("checkpoint.pth") == -1);
  CHECK(temporary_writer_pid(".tmp.12") == -1);
  CHECK(temporary_writer_pid("a.tmp.12x") == -1);
  CHECK(temporary_writer_pid("a.tmp.99999999999999999999") == -1);  // no pid that long
}

TEST_CASE("an image write leaves the image and no temporary and a failed one leaves nothing", "[io][atomic]") {
  const std::string dir = test::temp_dir("atomic_image");
  const at::Tensor image = torch::arange(64, torch::kUInt8).view({8, 8});
  io::write_image(dir + "/mask.png", image);
  auto entries = list_directory(dir);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].name == "mask.png");
  CHECK(torch::equal(io::read_image(dir + "/mask.png").squeeze(), image));
  CHECK_THROWS_AS(io::write_image(dir + "/mask.unknown_format", image), Error);
  entries = list_directory(dir);
  CHECK(entries.size() == 1);
}

TEST_CASE("a file set (a header and its data file) is renamed into place together, or not at all", "[io][atomic]") {
  const std::string dir = test::temp_dir("atomic_file_set");
  const auto write_pair = [](const std::string& tmp, const std::string& text) {
    const auto base = tmp.substr(0, tmp.size() - 4);  // x.mhd -> x
    std::ofstream(base + ".raw") << text;
    std::ofstream(tmp) << "ElementDataFile = x.raw\n";
  };
  write_atomically_as_file_set(dir + "/x.mhd", [&](const std::string& tmp) {
    CHECK(tmp != dir + "/x.mhd");  // staged elsewhere
    CHECK(tmp.substr(tmp.size() - 6) == "/x.mhd");  // under the same file name
    write_pair(tmp, "first");
  });
  CHECK(test::file_contents(dir + "/x.raw") == "first");
  CHECK(list_directory(dir).size() == 2);
  CHECK_THROWS_WITH(write_atomically_as_file_set(dir + "/x.mhd",
                                                 [&](const std::string& tmp) {
                                                   write_pair(tmp, "second");
                                                   throw Error("writer failed");
                                                 }),
                    "writer failed");
  CHECK(test::file_contents(dir + "/x.raw") == "first");  // the old set stands
  CHECK(list_directory(dir).size() == 2);              // and no staging folder is left
  CHECK_THROWS_WITH(write_atomically_as_file_set(dir + "/y.mhd", [](const std::string&) {}),
                    Catch::Contains("y.mhd") && Catch::Contains("did not create it"));
  CHECK(list_directory(dir).size() == 2);
}

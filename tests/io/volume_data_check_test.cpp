// Volume files cut short (an interrupted copy or download): ITK reads them without an error and leaves
// the missing voxels zero, so read_volume checks the data is all there first (volume_data_check.h).
#include <catch2/catch.hpp>
#include <torch/torch.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "medsam/core/error.h"
#include "medsam/io/volume.h"
#include "medsam/io/volume_data_check.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"

namespace fs = std::filesystem;
using medsam::io::read_volume;
using medsam::io::Volume;

namespace {

// (z, y, x) = (6, 7, 8) int16 voxels: 336 voxels, 672 bytes of voxel data.
Volume short_ramp_volume() {
  Volume v;
  v.data = torch::arange(6 * 7 * 8).reshape({6, 7, 8}).to(torch::kShort);
  return v;
}

void cut_end(const std::string& path, std::uintmax_t bytes) { fs::resize_file(path, fs::file_size(path) - bytes); }

std::string raw_bytes_of(const Volume& v) {
  const auto data = v.data.contiguous();
  return std::string(static_cast<const char*>(data.data_ptr()), data.numel() * data.element_size());
}

// A MetaImage header as ITK and 3D Slicer write it; `data_file` LOCAL puts the voxels right after it.
std::string metaimage_header(const std::string& data_file) {
  return "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\nCompressedData = False\n"
         "DimSize = 8 7 6\nElementSpacing = 1 1 1\nOffset = 0 0 0\nElementType = MET_SHORT\nElementDataFile = " +
         data_file + "\n";
}

// `bytes` as two gzip members (what `cat a.gz b.gz` makes): gzip readers take them as one file.
void write_two_gzip_members(const std::string& path, const std::string& bytes) {
  const std::size_t half = bytes.size() / 2;
  for (const auto& [mode, part] : {std::pair{"wb", bytes.substr(0, half)}, std::pair{"ab", bytes.substr(half)}}) {
    gzFile f = gzopen(path.c_str(), mode);
    REQUIRE(f);
    REQUIRE(gzwrite(f, part.data(), static_cast<unsigned>(part.size())) == static_cast<int>(part.size()));
    REQUIRE(gzclose(f) == Z_OK);
  }
}

}  // namespace

TEST_CASE("NIfTI and MetaImage volumes cut short are refused naming the file and the bytes there and expected",
          "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("NIfTI and MetaImage");
  const auto dir = medsam::test::temp_dir("volume_cut_short");
  const auto v = short_ramp_volume();
  // ITK's own files: .nii (voxels after a 352-byte header), .nii.gz and .mha (zlib-compressed).
  for (const char* ext : {".nii", ".nii.gz", ".mha"}) {
    INFO(ext);
    const auto path = dir + "/whole" + ext;
    medsam::io::write_volume(path, v);
    CHECK(read_volume(path).data.equal(v.data));  // whole files read as before
    const auto cut = dir + "/cut" + ext;
    fs::copy_file(path, cut);
    cut_end(cut, std::string(ext) == ".nii" ? 100 : 20);  // compressed: the trailer and some data
    CHECK_THROWS_WITH(read_volume(cut), Catch::Contains(cut) && Catch::Contains("of its 672 bytes of voxel data"));
  }
  // 100 bytes of 672 missing from a plain .nii: the count is exact.
  CHECK_THROWS_WITH(read_volume(dir + "/cut.nii"), Catch::Contains("cut short: 572 of its 672 bytes"));
  CHECK_THROWS_WITH(read_volume(dir + "/cut.nii.gz"), Catch::Contains("the gzip data ends early"));
  CHECK_THROWS_WITH(read_volume(dir + "/cut.mha"), Catch::Contains("the compressed data ends early"));

  // An uncompressed .mha (what many converters write): voxels right after the header.
  std::ofstream(dir + "/raw.mha", std::ios::binary) << metaimage_header("LOCAL") << raw_bytes_of(v);
  CHECK(read_volume(dir + "/raw.mha").data.equal(v.data));
  cut_end(dir + "/raw.mha", 2);
  CHECK_THROWS_WITH(read_volume(dir + "/raw.mha"), Catch::Contains(dir + "/raw.mha: cut short: 670 of its 672 bytes"));
}

TEST_CASE("a .mhd whose raw data file is cut short is refused naming both files", "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("MetaImage");
  const auto dir = medsam::test::temp_dir("volume_mhd_cut");
  const auto v = short_ramp_volume();
  std::ofstream(dir + "/scan.mhd", std::ios::binary) << metaimage_header("scan.raw");
  std::ofstream(dir + "/scan.raw", std::ios::binary) << raw_bytes_of(v);
  CHECK(read_volume(dir + "/scan.mhd").data.equal(v.data));
  cut_end(dir + "/scan.raw", 72);
  CHECK_THROWS_WITH(read_volume(dir + "/scan.mhd"),
                    Catch::Contains(dir + "/scan.raw (data file of " + dir + "/scan.mhd): cut short: 600 of its 672"));
}

TEST_CASE("a .nii.gz with a wrong CRC is refused as corrupt, one written as two gzip members reads whole",
          "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("NIfTI");
  const auto dir = medsam::test::temp_dir("volume_gz_crc");
  const auto v = short_ramp_volume();
  medsam::io::write_volume(dir + "/plain.nii", v);
  const auto nii = medsam::test::file_contents(dir + "/plain.nii");
  REQUIRE(nii.size() == 352 + 672);

  write_two_gzip_members(dir + "/two.nii.gz", nii);
  const auto inflated = medsam::io::inflated_size(dir + "/two.nii.gz", 0);
  CHECK(inflated.problem.empty());
  CHECK(inflated.bytes == nii.size());
  CHECK(read_volume(dir + "/two.nii.gz").data.equal(v.data));

  // The gzip trailer is CRC-32 then the length; change one bit of the CRC.
  medsam::io::write_volume(dir + "/bad_crc.nii.gz", v);
  auto gz = medsam::test::file_contents(dir + "/bad_crc.nii.gz");
  gz[gz.size() - 8] = static_cast<char>(gz[gz.size() - 8] ^ 1);
  std::ofstream(dir + "/bad_crc.nii.gz", std::ios::binary | std::ios::trunc) << gz;
  CHECK_THROWS_WITH(read_volume(dir + "/bad_crc.nii.gz"),
                    Catch::Contains(dir + "/bad_crc.nii.gz: the gzip data is corrupt (incorrect data check)"));
}

TEST_CASE("NaN and infinite voxels of a float NIfTI are counted in the file (ITK's NIfTI reader makes them 0)",
          "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("NIfTI");
  const auto dir = medsam::test::temp_dir("volume_non_finite");
  auto v = short_ramp_volume();
  v.data = v.data.to(torch::kFloat);
  v.data[1][2][3] = std::numeric_limits<float>::quiet_NaN();
  v.data[5][6][7] = -std::numeric_limits<float>::infinity();
  for (const char* name : {"/f.nii", "/f.nii.gz"}) {
    INFO(name);
    medsam::io::write_volume(dir + name, v);
    CHECK(torch::isfinite(read_volume(dir + name).data).all().item<bool>());  // what niftilib does
    CHECK(medsam::io::nifti_non_finite_count(dir + name) == 2);
  }
  v.data = v.data.nan_to_num(0, 0, 0).to(torch::kDouble);
  v.data[0][0][0] = std::numeric_limits<double>::quiet_NaN();
  medsam::io::write_volume(dir + "/d.nii.gz", v);
  CHECK(medsam::io::nifti_non_finite_count(dir + "/d.nii.gz") == 1);
  medsam::io::write_volume(dir + "/i.nii.gz", short_ramp_volume());  // integers cannot be NaN
  CHECK(medsam::io::nifti_non_finite_count(dir + "/i.nii.gz") == 0);
}

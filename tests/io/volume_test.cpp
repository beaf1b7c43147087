#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "medsam/core/directory.h"
#include "medsam/core/error.h"
#include "medsam/io/volume.h"
#include "tests/io/dicom_series.h"
#include "tests/io/nifti_header.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"

using namespace medsam::io;

namespace {
const std::string kColin = "/usr/share/mricron/templates/ch2.nii.gz";  // Debian's mricron-data

void check_same_geometry(const VolumeGeometry& a, const VolumeGeometry& b) {
  for (int i = 0; i < 3; ++i) {
    CHECK(a.spacing[i] == Approx(b.spacing[i]).margin(1e-5));
    CHECK(a.origin[i] == Approx(b.origin[i]).margin(1e-4));
  }
  for (int i = 0; i < 9; ++i) CHECK(a.direction[i] == Approx(b.direction[i]).margin(1e-5));
}

Volume oblique_volume(at::ScalarType dtype) {
  Volume v;
  v.data = torch::arange(4 * 5 * 6).reshape({4, 5, 6}).to(dtype);
  v.geometry.spacing = {0.7, 0.8, 2.5};
  v.geometry.origin = {-90.5, 12.25, 30.0};
  // A rotation of 90 degrees about z: x axis -> +y, y axis -> -x.
  v.geometry.direction = {0, -1, 0, 1, 0, 0, 0, 0, 1};
  return v;
}
}  // namespace

TEST_CASE("volumes round-trip data and geometry through NIfTI, MHA and NRRD", "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("NIfTI, MHA and NRRD");
  const auto dir = medsam::test::temp_dir("volume_rt");
  for (const char* ext : {".nii.gz", ".nii", ".mha", ".nrrd"}) {
    for (auto dtype : {torch::kByte, torch::kShort, torch::kFloat}) {
      INFO(ext << " dtype " << c10::toString(dtype));
      const auto v = oblique_volume(dtype);
      write_volume(dir + "/v" + ext, v);
      const auto back = read_volume(dir + "/v" + ext);
      CHECK(back.data.scalar_type() == dtype);
      CHECK(back.data.sizes() == v.data.sizes());  // (z, y, x) kept
      CHECK(back.data.equal(v.data));
      for (int i = 0; i < 3; ++i) {
        CHECK(back.geometry.spacing[i] == Approx(v.geometry.spacing[i]).margin(1e-5));
        CHECK(back.geometry.origin[i] == Approx(v.geometry.origin[i]).margin(1e-4));
      }
      for (int i = 0; i < 9; ++i) CHECK(back.geometry.direction[i] == Approx(v.geometry.direction[i]).margin(1e-5));
    }
  }
}

TEST_CASE("two-file volumes (.mhd, .nhdr, .hdr) are staged as a set, replace an old set, and read back",
          "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("MetaImage, NRRD and Analyze pairs");
  const auto dir = medsam::test::temp_dir("volume_two_file");
  for (const char* ext : {".mhd", ".nhdr", ".hdr"}) {
    INFO(ext);
    auto v = oblique_volume(torch::kShort);
    write_volume(dir + "/v" + ext, v);
    v.data.add_(7);  // a second write replaces both files
    write_volume(dir + "/v" + ext, v);
    const auto back = read_volume(dir + "/v" + ext);
    CHECK(back.data.equal(v.data));
    CHECK(back.geometry.spacing[2] == Approx(v.geometry.spacing[2]).margin(1e-5));
  }
  // The header and its data file for each (mhd+raw, nhdr+raw(.gz), hdr+img), no staging folder left.
  std::vector<std::string> names;
  for (const auto& e : medsam::list_directory(dir)) names.push_back(e.name);
  INFO(names.size());
  for (const auto& n : names) CHECK(n.find(".tmp.") == std::string::npos);
  CHECK(names.size() == 6);
  // A writer that fails leaves nothing of its set behind.
  CHECK_THROWS_AS(write_volume(dir + "/no_such_folder/v.mhd", oblique_volume(torch::kShort)), medsam::Error);
  CHECK(medsam::list_directory(dir).size() == 6);
}

TEST_CASE("the Colin27 crop fixture reads as (z, y, x) uint8 with its sform placement", "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("NIfTI");
  const auto v = read_volume(std::string(MEDSAM_FIXTURES_DIR) + "/colin27_crop/image.nii.gz");
  CHECK(v.data.sizes() == at::IntArrayRef({12, 48, 40}));
  CHECK(v.data.scalar_type() == torch::kByte);
  // NIfTI sform offset (-90 + 30, -125 + 100, -71 + 70) in RAS becomes LPS in ITK: x and y negated.
  CHECK(v.geometry.origin[0] == Approx(60.0));
  CHECK(v.geometry.origin[1] == Approx(25.0));
  CHECK(v.geometry.origin[2] == Approx(-1.0));
  CHECK(v.geometry.spacing[2] == Approx(1.0));
}

TEST_CASE("unreadable volumes fail with the path named", "[data][io][volume]") {
  CHECK_THROWS_WITH(read_volume("/nonexistent/v.nii.gz"), Catch::Contains("/nonexistent/v.nii.gz"));
  const auto dir = medsam::test::temp_dir("volume_bad");
  medsam::test::run_command("echo garbage > " + dir + "/bad.nii.gz");
  CHECK_THROWS_AS(read_volume(dir + "/bad.nii.gz"), medsam::Error);
  CHECK(looks_like_volume_file("a/B.NII.GZ"));
  CHECK_FALSE(looks_like_volume_file("a/b.png"));
}

TEST_CASE("NIfTI label volumes keep the input's qform_code and sform_code (Colin27: 0 and 4, MNI)",
          "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("NIfTI");
  REQUIRE(std::ifstream(kColin).good());  // mricron-data (scripts/setup-deps installs it)
  const auto input_codes = medsam::test::read_nifti_xform_codes(kColin);
  REQUIRE(input_codes.qform_code == 0);
  REQUIRE(input_codes.sform_code == 4);
  const Volume in = read_volume(kColin);
  CHECK(in.geometry.nifti_qform_code == 0);
  CHECK(in.geometry.nifti_sform_code == 4);
  const auto dir = medsam::test::temp_dir("volume_xform");
  for (const char* name : {"/seg.nii.gz", "/seg.nii"}) {
    INFO(name);
    // What `medsam infer` does with a label volume (write_label_volume in medsam/infer/infer_job.cpp).
    write_volume(dir + name, Volume{(in.data > 100).to(torch::kByte), in.geometry});
    const auto codes = medsam::test::read_nifti_xform_codes(dir + name);
    CHECK(codes.qform_code == input_codes.qform_code);
    CHECK(codes.sform_code == input_codes.sform_code);
    const Volume back = read_volume(dir + name);
    CHECK(back.data.sizes() == in.data.sizes());
    check_same_geometry(back.geometry, in.geometry);
  }
  // Other codes go through too; a volume from elsewhere gets ITK's defaults (1 = scanner for both).
  Volume talairach = oblique_volume(torch::kByte);
  talairach.geometry.nifti_qform_code = 1;
  talairach.geometry.nifti_sform_code = 3;
  write_volume(dir + "/tal.nii.gz", talairach);
  CHECK(medsam::test::read_nifti_xform_codes(dir + "/tal.nii.gz").sform_code == 3);
  check_same_geometry(read_volume(dir + "/tal.nii.gz").geometry, talairach.geometry);
  write_volume(dir + "/plain.nii.gz", oblique_volume(torch::kByte));
  CHECK(medsam::test::read_nifti_xform_codes(dir + "/plain.nii.gz").qform_code == 1);
  CHECK(medsam::test::read_nifti_xform_codes(dir + "/plain.nii.gz").sform_code == 1);
  Volume bogus = talairach;
  bogus.geometry.nifti_sform_code = 9;  // not a NIfTI xform code
  CHECK_THROWS_WITH(write_volume(dir + "/bogus.nii.gz", bogus), Catch::Contains(dir + "/bogus.nii.gz"));
  for (const auto& entry : medsam::list_directory(dir))  // no staged or half-written file left
    CHECK(entry.name.find("bogus") == std::string::npos);
  // Non-NIfTI formats carry no codes.
  write_volume(dir + "/seg.mha", Volume{in.data, in.geometry});
  CHECK(read_volume(dir + "/seg.mha").geometry.nifti_sform_code == -1);
}

TEST_CASE("a DICOM series folder reads in slice-position order, rescaled to HU, with its geometry",
          "[data][io][volume][dicom]") {
  MEDSAM_NEEDS_ITK("DICOM series (GDCM)");
  const auto& series = medsam::test::dicom_series();
  if (!series.error.empty()) FAIL(series.error);
  if (series.dir.empty()) MEDSAM_SKIP("needs python3 with pydicom and numpy (scripts/setup-deps)");
  const Volume v = read_volume(series.dir);
  CHECK(v.data.scalar_type() == torch::kFloat);
  REQUIRE(v.data.sizes() == at::IntArrayRef({10, 24, 32}));
  const at::Tensor expected = medsam::test::dicom_series_expected_hu();
  // Slice by slice, so a wrong order names the slice.
  for (int64_t k = 0; k < 10; ++k) {
    INFO("slice " << k << " holds " << v.data[k][0][0].item<float>() << " at (0, 0)");
    CHECK(torch::equal(v.data[k], expected[k]));
  }
  for (int i = 0; i < 3; ++i) {
    CHECK(v.geometry.spacing[i] == Approx(medsam::test::kDicomSpacing[i]).margin(1e-5));
    CHECK(v.geometry.origin[i] == Approx(medsam::test::kDicomOrigin[i]).margin(1e-4));
  }
  for (int i = 0; i < 9; ++i) CHECK(v.geometry.direction[i] == Approx(medsam::test::kDicomDirection[i]).margin(1e-5));
  CHECK(v.geometry.nifti_sform_code == -1);
}

namespace {
// A minimal NIfTI-1 file (.nii) of uint8 voxels with the given dims (dim[0] = their count), all zero.
void write_raw_nifti(const std::string& path, const std::vector<int16_t>& dims) {
  std::vector<char> header(352, 0);
  const auto put = [&](size_t at, const auto& value) { std::memcpy(header.data() + at, &value, sizeof value); };
  put(0, int32_t{348});
  put(40, static_cast<int16_t>(dims.size()));
  int64_t voxels = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    put(42 + 2 * i, dims[i]);
    voxels *= dims[i];
  }
  put(70, int16_t{2});  // DT_UNSIGNED_CHAR
  put(72, int16_t{8});
  for (int i = 0; i < 8; ++i) put(76 + 4 * i, 1.0f);
  put(108, 352.0f);
  std::memcpy(header.data() + 344, "n+1", 4);
  std::ofstream out(path, std::ios::binary);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(std::vector<char>(static_cast<size_t>(voxels), 0).data(), voxels);
}
}  // namespace

TEST_CASE("a 4-D NIfTI is refused naming its volumes (ITK would read the first and drop its orientation)",
          "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("NIfTI through ITK");
  const auto dir = medsam::test::temp_dir("volume_4d");
  write_raw_nifti(dir + "/brats_like.nii", {6, 5, 4, 2});
  CHECK_THROWS_WITH(read_volume(dir + "/brats_like.nii"),
                    Catch::Contains("brats_like.nii: a 4-D image (2 volumes along dimension 4)"));
  write_raw_nifti(dir + "/single.nii", {6, 5, 4, 1});  // a 4th dimension of 1 is a 3D volume
  CHECK(read_volume(dir + "/single.nii").data.sizes() == at::IntArrayRef({4, 5, 6}));
}

TEST_CASE("a DICOM series with a missing slice is refused, naming the gap", "[data][io][volume][dicom]") {
  MEDSAM_NEEDS_ITK("DICOM series (GDCM)");
  const auto& series = medsam::test::dicom_series();
  if (!series.error.empty()) FAIL(series.error);
  if (series.dir.empty()) MEDSAM_SKIP("needs python3 with pydicom and numpy (scripts/setup-deps)");
  // The same series without physical slice 5 of 10: IM0004.dcm holds it (make_dicom_series.py's file_order).
  const auto dir = medsam::test::temp_dir("dicom_gap");
  int copied = 0;
  for (const auto& e : medsam::list_directory(series.dir)) {
    if (e.name == "IM0004.dcm") continue;
    std::filesystem::copy_file(e.path, dir + "/" + e.name);
    ++copied;
  }
  REQUIRE(copied == 9);
  CHECK_THROWS_WITH(read_volume(dir), Catch::Contains("not evenly spaced") && Catch::Contains("missing slice"));
}

namespace {
using medsam::test::NiftiFields;

// qform_code 1 (scanner) with a quaternion that permutes the axes (120 degrees about (1, 1, 1)) and
// qfac -1 (a flip), origin (12.5, -30, 45); sform_code 4 (MNI) with another transform: diag(0.7, 1.3, 3)
// from (-10, -20, -30). 6 x 5 x 4 voxels of 0.7 x 1.3 x 3 mm.
NiftiFields qform_sform_differ_fields() {
  NiftiFields f;
  f.dim = {3, 6, 5, 4, 1, 1, 1, 1};
  f.pixdim = {-1.0f, 0.7f, 1.3f, 3.0f, 1.0f, 1.0f, 1.0f, 1.0f};
  f.xyzt_units = 2;  // NIFTI_UNITS_MM
  f.qform_code = 1;
  f.quatern = {0.5f, 0.5f, 0.5f};
  f.qoffset = {12.5f, -30.0f, 45.0f};
  f.sform_code = 4;
  f.srow_x = {0.7f, 0.0f, 0.0f, -10.0f};
  f.srow_y = {0.0f, 1.3f, 0.0f, -20.0f};
  f.srow_z = {0.0f, 0.0f, 3.0f, -30.0f};
  return f;
}

void check_same_spatial_fields(const NiftiFields& out, const NiftiFields& in) {
  for (int i = 1; i <= 3; ++i) CHECK(out.dim[i] == in.dim[i]);
  for (int i = 0; i <= 3; ++i) CHECK(out.pixdim[i] == in.pixdim[i]);
  CHECK(int{out.xyzt_units} == int{in.xyzt_units});
  CHECK(out.qform_code == in.qform_code);
  CHECK(out.sform_code == in.sform_code);
  CHECK(out.quatern == in.quatern);
  CHECK(out.qoffset == in.qoffset);
  CHECK(out.srow_x == in.srow_x);
  CHECK(out.srow_y == in.srow_y);
  CHECK(out.srow_z == in.srow_z);
}

// Writes `fields` as `input` (voxels 0, 1, 2, ...), reads it and writes it back as .nii.gz and .nii: each
// output's spatial header fields are the input's, verbatim, and its voxels are the input's.
Volume check_nifti_header_kept(const std::string& input, const NiftiFields& fields) {
  const int64_t nx = fields.dim[1], ny = fields.dim[2], nz = fields.dim[0] >= 3 ? fields.dim[3] : 1;
  std::vector<uint8_t> voxels(static_cast<size_t>(nx * ny * nz));
  for (size_t i = 0; i < voxels.size(); ++i) voxels[i] = static_cast<uint8_t>(i % 251);
  medsam::test::write_nifti1_file(input, fields, voxels);
  REQUIRE(medsam::test::read_nifti_fields(input).big_endian == fields.big_endian);
  const Volume in = read_volume(input);
  REQUIRE(in.data.sizes() == at::IntArrayRef({nz, ny, nx}));
  CHECK(in.data.flatten().equal(torch::from_blob(voxels.data(), {nx * ny * nz}, torch::kByte)));
  CHECK(in.geometry.nifti_qform_code == fields.qform_code);
  CHECK(in.geometry.nifti_sform_code == fields.sform_code);
  REQUIRE(in.geometry.nifti_spatial.has_value());
  for (const char* ext : {".nii.gz", ".nii"}) {
    const std::string out = input + ".seg" + ext;
    INFO(out);
    write_volume(out, in);
    const NiftiFields written = medsam::test::read_nifti_fields(out);
    CHECK_FALSE(written.big_endian);  // ITK's byte order; the values are the input's
    check_same_spatial_fields(written, fields);
    const Volume back = read_volume(out);
    CHECK(back.data.equal(in.data));
    if (fields.dim[0] >= 3) check_same_geometry(back.geometry, in.geometry);  // the same header, read alike
  }
  return in;
}
}  // namespace

TEST_CASE("a NIfTI output keeps the input's qform and sform where they differ (qform 1, sform 4 MNI)",
          "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("NIfTI");
  const auto dir = medsam::test::temp_dir("volume_nifti_spatial");
  const Volume in = check_nifti_header_kept(dir + "/qs.nii.gz", qform_sform_differ_fields());
  // A geometry changed after reading is written as given (the input's header no longer describes it) ...
  Volume shifted = in;
  shifted.geometry.origin[0] += 5.0;
  write_volume(dir + "/shifted.nii.gz", shifted);
  check_same_geometry(read_volume(dir + "/shifted.nii.gz").geometry, shifted.geometry);
  CHECK(medsam::test::read_nifti_fields(dir + "/shifted.nii.gz").sform_code == 4);
  // ... and so is a volume of another size: the codes are kept, the transform is ITK's.
  write_volume(dir + "/cropped.nii.gz", Volume{in.data.slice(0, 0, 2).contiguous(), in.geometry});
  const NiftiFields cropped = medsam::test::read_nifti_fields(dir + "/cropped.nii.gz");
  CHECK(cropped.dim[3] == 2);
  CHECK(cropped.qform_code == 1);
  CHECK(cropped.sform_code == 4);
  CHECK(read_volume(dir + "/cropped.nii.gz").data.equal(in.data.slice(0, 0, 2)));
}

TEST_CASE("a NIfTI output keeps a micron input's units, voxel sizes and origin", "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("NIfTI");
  const auto dir = medsam::test::temp_dir("volume_nifti_micron");
  NiftiFields f;
  f.dim = {3, 6, 5, 4, 1, 1, 1, 1};
  f.pixdim = {1.0f, 700.0f, 1300.0f, 3000.0f, 1.0f, 1.0f, 1.0f, 1.0f};
  f.xyzt_units = 3;  // NIFTI_UNITS_MICRON
  f.qform_code = 1;
  f.qoffset = {1000.0f, 2000.0f, 3000.0f};
  f.sform_code = 1;
  f.srow_x = {700.0f, 0.0f, 0.0f, 1000.0f};
  f.srow_y = {0.0f, 1300.0f, 0.0f, 2000.0f};
  f.srow_z = {0.0f, 0.0f, 3000.0f, 3000.0f};
  check_nifti_header_kept(dir + "/micron.nii", f);
}

TEST_CASE("a 2D NIfTI output keeps the input's slice position and thickness", "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("NIfTI");
  const auto dir = medsam::test::temp_dir("volume_nifti_2d");
  NiftiFields f;
  f.dim = {2, 6, 5, 1, 1, 1, 1, 1};
  f.pixdim = {1.0f, 0.8f, 0.9f, 3.0f, 1.0f, 1.0f, 1.0f, 1.0f};
  f.xyzt_units = 2;
  f.qform_code = 1;
  f.qoffset = {-20.0f, 10.0f, 45.0f};
  f.sform_code = 1;
  f.srow_x = {0.8f, 0.0f, 0.0f, -20.0f};
  f.srow_y = {0.0f, 0.9f, 0.0f, 10.0f};
  f.srow_z = {0.0f, 0.0f, 3.0f, 45.0f};
  const Volume in = check_nifti_header_kept(dir + "/slice.nii.gz", f);
  CHECK(in.data.size(0) == 1);
}

TEST_CASE("a big-endian NIfTI input's spatial fields are kept, written little-endian", "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("NIfTI");
  const auto dir = medsam::test::temp_dir("volume_nifti_big_endian");
  NiftiFields f = qform_sform_differ_fields();
  f.big_endian = true;
  check_nifti_header_kept(dir + "/big.nii", f);
}

TEST_CASE("a NIfTI input written as MetaImage keeps its data and geometry, no NIfTI fields",
          "[data][io][volume]") {
  MEDSAM_NEEDS_ITK("NIfTI and MetaImage");
  const auto dir = medsam::test::temp_dir("volume_nifti_to_mha");
  const Volume in = check_nifti_header_kept(dir + "/qs.nii.gz", qform_sform_differ_fields());
  write_volume(dir + "/qs.mha", in);
  const Volume back = read_volume(dir + "/qs.mha");
  CHECK(back.data.equal(in.data));
  check_same_geometry(back.geometry, in.geometry);
  CHECK(back.geometry.nifti_sform_code == -1);
  CHECK_FALSE(back.geometry.nifti_spatial.has_value());
}

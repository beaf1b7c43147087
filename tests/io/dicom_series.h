// A synthetic CT series written once per test process by tests/io/make_dicom_series.py (pydicom), and
// what reading it must give. The numbers here mirror the script's docstring.
#pragma once

#include <torch/torch.h>

#include <string>

#include "tests/io/python_helper.h"
#include "tests/support/run_command.h"

namespace medsam::test {

struct DicomSeriesFixture {
  std::string dir;    // the series folder; "" when no python3 with pydicom and numpy is installed
  std::string error;  // the generator's stderr when it failed
};

// Generates the series folder (once per process).
inline const DicomSeriesFixture& dicom_series() {
  static const DicomSeriesFixture fixture = [] {
    DicomSeriesFixture f;
    const std::string python = python_with("pydicom, numpy");
    if (python.empty()) return f;
    const std::string dir = temp_dir("dicom_series") + "/series";
    const auto r = run_command(python + " " + MEDSAM_SOURCE_DIR + "/tests/io/make_dicom_series.py " + dir);
    if (r.exit_code == 0) f.dir = dir;
    else f.error = "make_dicom_series.py failed: " + r.err;
    return f;
  }();
  return fixture;
}

// The voxels the series holds after rescale, (z, y, x) in order along the slice normal, float32.
inline at::Tensor dicom_series_expected_hu() {
  const auto k = torch::arange(10, at::kLong).view({10, 1, 1});
  const auto y = torch::arange(24, at::kLong).view({1, 24, 1});
  const auto x = torch::arange(32, at::kLong).view({1, 1, 32});
  const auto stored = 100 * k + 3 * y + x - 250;
  return (2 * stored - 1024).to(at::kFloat);
}

constexpr double kDicomSpacing[3] = {0.8, 0.7, 2.5};    // x (PixelSpacing[1]), y (PixelSpacing[0]), z
constexpr double kDicomOrigin[3] = {-40.0, 12.5, 30.0};  // the first slice's ImagePositionPatient
// Row-major, columns = axis directions: x along +y, y along -x, z along +z (ITK's DICOM frame is LPS too).
constexpr double kDicomDirection[9] = {0, -1, 0, 1, 0, 0, 0, 0, 1};

}  // namespace medsam::test

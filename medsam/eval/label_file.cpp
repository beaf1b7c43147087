#include "medsam/eval/label_file.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "medsam/core/error.h"
#include "medsam/io/file_name.h"
#include "medsam/io/image.h"
#include "medsam/io/volume.h"
#include "medsam/io/volume_data_check.h"

namespace medsam::eval {

namespace {

const std::vector<const char*> kImageExtensions{".png", ".bmp", ".tif", ".tiff"};
// Volumes, then images: ".nii.gz" must match before anything shorter.
const std::vector<const char*> kLabelExtensions = [] {
  std::vector<const char*> all{".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".nhdr"};
  all.insert(all.end(), kImageExtensions.begin(), kImageExtensions.end());
  return all;
}();

bool is_image_file(const std::string& path) { return io::has_extension(path, kImageExtensions); }

}  // namespace

bool is_label_file(const std::string& path) { return io::has_extension(path, kLabelExtensions); }

std::string label_file_stem(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  const char* ext = io::matching_extension(name, kLabelExtensions);
  return ext ? name.substr(0, name.size() - std::strlen(ext)) : name;
}

LabelFile read_label_file(const std::string& path, const std::vector<double>& fallback_spacing_xy) {
  LabelFile out;
  if (is_image_file(path)) {
    // Without OpenCV read_image still reads PNG and names the path for any other format.
    at::Tensor image = io::read_image(path);  // (H, W, C)
    if (image.size(2) > 1 && !image.eq(image.narrow(2, 0, 1)).all().item<bool>())
      throw Error(fmt::format("{}: a label map must have one channel (or equal channels), this one has {} that differ",
                              path, image.size(2)));
    out.labels = image.select(2, 0).to(at::kLong);
    if (!fallback_spacing_xy.empty() && fallback_spacing_xy.size() < 2)
      throw UsageError(fmt::format("--spacing needs x,y (mm) for the 2D image {}", path));
    out.spacing = fallback_spacing_xy.empty() ? std::vector<double>{1.0, 1.0}
                                              : std::vector<double>{fallback_spacing_xy[1], fallback_spacing_xy[0]};
    return out;
  }
  if (!io::volume_io_available())
    throw Error(fmt::format("{}: this build cannot read volumes (built without ITK)", path));
  io::Volume v = io::read_volume(path);  // (z, y, x), spacing (x, y, z)
  if (const std::int64_t bad = io::nifti_non_finite_count(path); bad > 0)
    throw Error(fmt::format("{}: {} voxels are NaN or infinite; a label map holds whole numbers", path, bad));
  out.geometry = v.geometry;
  if (at::isFloatingType(v.data.scalar_type()) && !v.data.eq(v.data.round()).all().item<bool>())
    throw Error(fmt::format("{}: a label map must hold whole numbers, this one has fractional values", path));
  const auto& s = v.geometry.spacing;
  if (v.data.size(0) == 1) {
    out.labels = v.data[0].to(at::kLong);
    out.spacing = {s[1], s[0]};
  } else {
    out.labels = v.data.to(at::kLong);
    out.spacing = {s[2], s[1], s[0]};
  }
  return out;
}

}  // namespace medsam::eval

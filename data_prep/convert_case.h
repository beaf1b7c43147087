// Turning one case (a volume + label volume, or a 2D image + mask) into encoded shard samples.
#pragma once

#include <ATen/Tensor.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "medsam/data/shard_writer.h"

namespace medsam::prep {

struct PrepConfig;
struct CaseSource;
class DatasetWarnings;

struct CaseContext {
  const PrepConfig* config = nullptr;
  std::uint16_t dataset_id = 0;
  const std::map<int, std::string>* label_names = nullptr;
  data::Split case_split = data::Split::kTrain;  // used unless split.mode is slice
  DatasetWarnings* warnings = nullptr;           // the run's once-per-dataset warnings (case_warnings.h)
};

struct CaseOutput {
  std::vector<data::EncodedSample> samples;  // in slice order
  std::int64_t slices_total = 0;             // slices along the axis before selection
  std::int64_t slices_dropped_by_gap = 0;
};

// 3D: read both volumes, check size and geometry, map labels, remove small components (3D then 2D),
// normalise intensity, keep slices with labels, resize, encode. Throws Error on a bad case.
CaseOutput convert_volume_case(const CaseSource& source, const CaseContext& ctx);

// 2D: read image + mask, check sizes, map labels, remove small components (2D), normalise, resize, encode.
CaseOutput convert_image2d_case(const CaseSource& source, const CaseContext& ctx);

// MedSAM's npy folders (kind npy): imgs/<name>.npy (1024x1024x3 float in [0, 1] or uint8, or H x W)
// with gts/<name>.npy (H x W label ids). Floats within [0, 1] are scaled by 255 and rounded; other
// ranges go through the 2D intensity rule; three equal channels are stored as one grey channel.
CaseOutput convert_npy_case(const CaseSource& source, const CaseContext& ctx);

// MedSAM/CVPR .npz files (kind npz) holding `imgs` and `gts`: 2D ((H, W) or (H, W, 3) with (H, W)
// labels) like an npy pair; 3D ((D, H, W) both) like a volume without geometry (intensity per config;
// uint8 data passes unchanged in mode auto for modality other).
CaseOutput convert_npz_case(const CaseSource& source, const CaseContext& ctx);

// Shared tail: resize one (H, W[, C]) uint8 slice and its (H, W) int32 labels to the stored size,
// describe objects, encode PNGs and metadata JSON.
struct SliceMeta {
  std::string case_name, image_path, label_path;
  std::uint32_t slice = 0;
  char axis = 'z';  // 'z', 'y', 'x', or '2' for 2D images
  data::Split split = data::Split::kTrain;
  std::optional<std::array<double, 3>> spacing;  // ITK (x, y, z) mm
  std::int64_t slice_count = 1;
  std::string intensity;  // how intensities were normalised, for the metadata
};
data::EncodedSample encode_slice(const at::Tensor& image, const at::Tensor& labels, const SliceMeta& meta,
                                 const CaseContext& ctx);

// The shared middle of the 3D converters: image (Z, Y, X) uint8 already normalised, labels (Z, Y, X)
// int32 already mapped. Removes small components (3D, then 2D along the configured axis), keeps
// slices with labels, assigns splits, encodes. `meta` gives case, paths, spacing, intensity note.
// Throws Error (naming meta.label_path) when no labelled voxel is left.
CaseOutput convert_labeled_volume(const at::Tensor& image, at::Tensor labels, SliceMeta meta, const CaseContext& ctx);

// The shared tail of the 2D converters: image (H, W) or (H, W, C) uint8, labels (H, W) int32 already
// mapped. Removes small 2D components, encodes one sample. Throws Error when no labelled pixel is left.
CaseOutput convert_labeled_image(const at::Tensor& image, at::Tensor labels, SliceMeta meta, const CaseContext& ctx);

}  // namespace medsam::prep

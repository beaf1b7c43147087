// ref: MedSAM pre_CT_MR.py (the whole per-case loop), generalised to any slicing axis.
#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>

#include "data_prep/case_warnings.h"
#include "data_prep/cases.h"
#include "data_prep/convert_case.h"
#include "data_prep/labels.h"
#include "data_prep/prep_config.h"
#include "data_prep/split.h"
#include "medsam/core/error.h"
#include "medsam/data/components.h"
#include "medsam/data/normalize.h"
#include "medsam/data/modality.h"
#include "medsam/io/volume.h"
#include "medsam/io/volume_data_check.h"
#include "medsam/io/volume_geometry.h"

namespace medsam::prep {
namespace {

void check_geometry(const io::Volume& img, const io::Volume& lab, const CaseSource& src) {
  if (img.data.sizes() != lab.data.sizes())
    throw Error(fmt::format("{} and {}: image size {} differs from label size {} (z, y, x)", src.image, src.labels,
                            img.data.sizes(), lab.data.sizes()));
  // Spacing, origin and direction: a label stored with flipped axes would pair mirrored voxels.
  if (const auto difference = io::geometry_difference(img.geometry, lab.geometry))
    throw Error(fmt::format("{} and {}: not on the same grid: {}", src.image, src.labels, *difference));
}

}  // namespace

CaseOutput convert_volume_case(const CaseSource& src, const CaseContext& ctx) {
  const auto& cfg = *ctx.config;
  if (src.labels.empty()) throw Error(fmt::format("{}: no matching label file", src.image));
  const auto lab_vol = io::read_volume(src.labels);
  const auto img_vol = io::read_volume(src.image);
  check_geometry(img_vol, lab_vol, src);
  auto labels = to_label_ids(lab_vol.data, src.labels, io::nifti_non_finite_count(src.labels));
  map_labels(labels, cfg.dataset);
  check_label_range(labels, src.labels, cfg.dataset);

  const auto spec = cfg.intensity_spec();
  warn_if_windowing_uint8(img_vol.data, spec, src.image, ctx);
  const auto norm = data::normalize_for(img_vol.data, spec);
  SliceMeta meta;
  meta.case_name = src.name;
  meta.image_path = src.image;
  meta.label_path = src.labels;
  meta.spacing = img_vol.geometry.spacing;
  meta.intensity = norm.how;
  return convert_labeled_volume(norm.data, std::move(labels), std::move(meta), ctx);
}

CaseOutput convert_labeled_volume(const at::Tensor& image, at::Tensor labels, SliceMeta meta, const CaseContext& ctx) {
  const auto& cfg = *ctx.config;
  // ref: MedSAM pre_CT_MR.py cc3d.dust(threshold=1000, connectivity=26), then per slice (100, 8)
  const int axis = cfg.slicing.axis == "z" ? 0 : cfg.slicing.axis == "y" ? 1 : 2;
  data::remove_small_components_3d(labels, cfg.cleanup.min_component_3d);
  auto lab_s = labels.movedim(axis, 0).contiguous();  // (slices, a, b)
  data::remove_small_components_2d(lab_s, cfg.cleanup.min_component_2d);

  CaseOutput out;
  out.slices_total = lab_s.size(0);
  // ref: MedSAM pre_CT_MR.py z_index = np.unique(np.where(gt > 0)[0])
  const auto has_label = (lab_s.reshape({lab_s.size(0), -1}) > 0).any(1);
  if (!has_label.any().item<bool>())
    throw Error(fmt::format("{}: no labelled voxels left after cleanup", meta.label_path));

  const auto img_s = image.movedim(axis, 0).contiguous();
  meta.axis = cfg.slicing.axis[0];
  meta.slice_count = lab_s.size(0);
  const auto* flags = has_label.data_ptr<bool>();
  for (int64_t i = 0; i < lab_s.size(0); ++i) {
    if (!flags[i]) continue;
    if (cfg.split.mode == "slice") {
      const auto s = split_slice(i, cfg.split.block, cfg.split.gap, cfg.split.fractions);
      if (!s) {
        ++out.slices_dropped_by_gap;
        continue;
      }
      meta.split = *s;
    } else {
      meta.split = ctx.case_split;
    }
    meta.slice = static_cast<std::uint32_t>(i);
    out.samples.push_back(encode_slice(img_s[i], lab_s[i], meta, ctx));
  }
  return out;
}

}  // namespace medsam::prep

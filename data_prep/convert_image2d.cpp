// ref: MedSAM pre_grey_rgb2D.py: 2D image + mask pairs (endoscopy, dermoscopy, X-ray, fundus, ...).
#include <fmt/format.h>
#include <torch/torch.h>

#include "data_prep/cases.h"
#include "data_prep/convert_case.h"
#include "data_prep/labels.h"
#include "data_prep/prep_config.h"
#include "medsam/core/error.h"
#include "medsam/data/components.h"
#include "medsam/data/modality.h"
#include "medsam/data/normalize.h"
#include "medsam/io/image.h"
#include "medsam/io/volume.h"

namespace medsam::prep {
namespace {

// (H, W, C) from a PNG/JPEG/... file, or a one-slice DICOM/volume file.
at::Tensor read_2d(const std::string& path) {
  if (io::looks_like_volume_file(path)) {
    auto v = io::read_volume(path);
    if (v.data.size(0) != 1) throw Error(fmt::format("{}: expected a 2D image, got {} slices", path, v.data.size(0)));
    return v.data[0].unsqueeze(2);
  }
  return io::read_image(path);
}

}  // namespace

CaseOutput convert_image2d_case(const CaseSource& src, const CaseContext& ctx) {
  const auto& cfg = *ctx.config;
  if (src.labels.empty()) throw Error(fmt::format("{}: no matching mask file", src.image));
  auto image = read_2d(src.image);
  auto mask = read_2d(src.labels);
  if (image.size(0) != mask.size(0) || image.size(1) != mask.size(1))
    throw Error(fmt::format("{} and {}: image size {}x{} differs from mask size {}x{}", src.image, src.labels,
                            image.size(1), image.size(0), mask.size(1), mask.size(0)));
  if (mask.size(2) > 1 && !torch::equal(mask.select(2, 0), mask.select(2, 1)))
    throw Error(fmt::format("{}: colour mask (channels differ); masks must hold label ids", src.labels));
  auto labels = mask.select(2, 0).to(torch::kInt).contiguous();
  if (cfg.dataset.binary_masks) labels = (labels > 0).to(torch::kInt);
  map_labels(labels, cfg.dataset);

  // ref: MedSAM pre_grey_rgb2D.py: > 3 channels keep the first 3; grey stays one channel here (the
  // loader repeats it to 3).
  if (image.size(2) == 4) image = image.narrow(2, 0, 3);
  if (image.size(2) == 2) image = image.narrow(2, 0, 1);
  // 2D images: mode auto means MedSAM's 2D rule (0..255 as is, else min-max), except CT slices
  // (e.g. a DICOM file in Hounsfield units), which get their window; percentile only for grey.
  auto spec = cfg.intensity_spec();
  const bool ct = data::is_ct(data::parse_modality(cfg.dataset.modality));
  if ((spec.mode == "auto" && !ct) || (spec.mode == "percentile" && image.size(2) != 1)) spec.mode = "image";
  auto norm = data::normalize_for(image, spec);
  if (norm.data.size(2) == 1) norm.data = norm.data.squeeze(2);

  SliceMeta meta;
  meta.case_name = src.name;
  meta.image_path = src.image;
  meta.label_path = src.labels;
  meta.split = ctx.case_split;
  meta.intensity = norm.how;
  return convert_labeled_image(norm.data.contiguous(), std::move(labels), std::move(meta), ctx);
}

CaseOutput convert_labeled_image(const at::Tensor& image, at::Tensor labels, SliceMeta meta, const CaseContext& ctx) {
  data::remove_small_components_2d(labels, ctx.config->cleanup.min_component_2d);
  if (!(labels > 0).any().item<bool>())
    throw Error(fmt::format("{}: no labelled pixels left after cleanup", meta.label_path));
  meta.axis = '2';
  CaseOutput out;
  out.slices_total = 1;
  out.samples.push_back(encode_slice(image, labels, meta, ctx));
  return out;
}

}  // namespace medsam::prep

// ref: MedSAM pre_grey_rgb2D.py: 2D image + mask pairs (endoscopy, dermoscopy, X-ray, fundus, ...).
#include <fmt/format.h>
#include <torch/torch.h>

#include "data_prep/case_warnings.h"
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
#include "medsam/io/volume_data_check.h"

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

// A mask's label ids: one channel, or colour channels that are all equal (a grey mask saved as RGB;
// alpha ignored). Colours would be merged or lost by keeping one channel, so a colour mask is refused,
// naming a pixel whose channels differ.
at::Tensor mask_values(const at::Tensor& mask, const std::string& path) {
  const auto colours = mask.size(2) >= 3 ? 3 : 1;  // (grey, alpha) or (R, G, B[, alpha])
  const auto r = mask.select(2, 0);
  if (colours == 1) return r;
  const auto differ = (r != mask.select(2, 1)) | (r != mask.select(2, 2));
  if (!differ.any().item<bool>()) return r;
  const auto at = differ.nonzero()[0];
  const auto row = at[0].item<int64_t>(), col = at[1].item<int64_t>();
  const auto px = mask[row][col];
  const auto value = [&](int c) {
    return at::isFloatingType(px.scalar_type()) ? fmt::format("{}", px[c].item<double>())
                                                : fmt::format("{}", px[c].item<int64_t>());
  };
  throw Error(fmt::format("{}: a colour mask: pixel (row {}, col {}) holds R, G, B = {}, {}, {}; labels must be a "
                          "single-channel grey/index image of label ids (a palette or colour mask would have its "
                          "labels merged or lost)",
                          path, row, col, value(0), value(1), value(2)));
}

// (H, W, C) -> (H, W, 1) or (H, W, 3). ref: MedSAM pre_grey_rgb2D.py (> 3 channels keep the first 3).
// Alpha is dropped, and three equal channels are grey (one channel: the grey intensity rules apply, and
// the loader repeats it to 3).
at::Tensor image_channels(at::Tensor image) {
  if (image.size(2) == 4) image = image.narrow(2, 0, 3);
  if (image.size(2) == 2) image = image.narrow(2, 0, 1);
  if (image.size(2) == 3 && torch::equal(image.select(2, 0), image.select(2, 1)) &&
      torch::equal(image.select(2, 0), image.select(2, 2)))
    image = image.narrow(2, 0, 1);
  return image;
}

// 2D images: mode auto means MedSAM's 2D rule (0..255 as is, else min-max), except CT slices (e.g. a
// DICOM file in Hounsfield units), which get their window. A window or percentiles of a colour image
// would mix its channels' meaning, so an explicit mode window/percentile refuses one.
data::IntensitySpec image_intensity(const at::Tensor& image, const PrepConfig& cfg, const std::string& path) {
  auto spec = cfg.intensity_spec();
  const bool ct = data::is_ct(data::parse_modality(cfg.dataset.modality));
  if (spec.mode == "auto" && !ct) spec.mode = "image";
  if (image.size(2) == 3 && (spec.mode == "percentile" || spec.mode == "window"))
    throw Error(fmt::format("{}: a colour image (its R, G and B differ), and intensity.mode: {} applies to grey "
                            "images only; set intensity.mode to auto (MedSAM's 2D rule) or none for colour images",
                            path, spec.mode));
  return spec;
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
  auto labels = to_label_ids(mask_values(mask, src.labels), src.labels, io::nifti_non_finite_count(src.labels));
  if (cfg.dataset.binary_masks) labels = (labels > 0).to(torch::kInt);
  map_labels(labels, cfg.dataset);
  check_label_range(labels, src.labels, cfg.dataset);

  image = image_channels(image);
  const auto spec = image_intensity(image, cfg, src.image);
  warn_if_windowing_uint8(image, spec, src.image, ctx);
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

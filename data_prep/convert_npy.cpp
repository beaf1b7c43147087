// Import of data MedSAM has already preprocessed: its npy folders (pre_CT_MR.py / pre_grey_rgb2D.py
// write imgs/<name>.npy + gts/<name>.npy per slice) and .npz files holding imgs + gts (MedSAM's npz
// stage and the CVPR 2024 challenge's training data, 2D or 3D).
#include <fmt/format.h>
#include <torch/torch.h>

#include "data_prep/cases.h"
#include "data_prep/convert_case.h"
#include "data_prep/labels.h"
#include "data_prep/prep_config.h"
#include "medsam/core/error.h"
#include "medsam/data/normalize.h"
#include "medsam/io/npy.h"

namespace medsam::prep {
namespace {

// Integer label ids from any array dtype; (H, W[, 1]) or (D, H, W) as given. Throws Error naming `path`.
at::Tensor label_ids(const at::Tensor& gts, const std::string& path, const PrepConfig& cfg) {
  auto labels = to_label_ids(gts, path);
  if (cfg.dataset.binary_masks) labels = (labels > 0).to(torch::kInt);
  map_labels(labels, cfg.dataset);
  check_label_range(labels, path, cfg.dataset);
  return labels;
}

// Already-preprocessed image data -> stored uint8. uint8 data is taken as normalised (mode auto);
// floats within [0, 1] (MedSAM's npy images after its min-max) are scaled by 255 and rounded; anything
// else follows the configured intensity rule (2D: MedSAM's 2D rule in mode auto).
data::NormalizedImage stored_intensities(const at::Tensor& imgs, const PrepConfig& cfg, bool is_3d) {
  auto spec = cfg.intensity_spec();
  if (spec.mode == "auto") {
    if (imgs.scalar_type() == torch::kByte) return {imgs, "none (uint8 as stored)"};
    if (at::isFloatingType(imgs.scalar_type()) && imgs.numel() > 0 && imgs.min().item<double>() >= 0 &&
        imgs.max().item<double>() <= 1)
      return {(imgs.to(torch::kDouble) * 255.0).round().clamp(0, 255).to(torch::kByte), "x255 of [0, 1] floats"};
    if (!is_3d) spec.mode = "image";
  }
  return data::normalize_for(imgs, spec);
}

// (H, W) or (H, W, C) uint8 -> (H, W) grey when C is 1 or all of 3 channels are equal, else (H, W, 3).
at::Tensor grey_if_possible(at::Tensor image, const std::string& path) {
  if (image.dim() == 2) return image;
  const auto c = image.size(2);
  if (c == 1) return image.squeeze(2);
  if (c != 3) throw Error(fmt::format("{}: image has {} channels; expected 1 or 3", path, c));
  if (torch::equal(image.select(2, 0), image.select(2, 1)) && torch::equal(image.select(2, 0), image.select(2, 2)))
    return image.select(2, 0).contiguous();
  return image.contiguous();
}

CaseOutput convert_2d(const at::Tensor& imgs, const at::Tensor& gts, const CaseSource& src, const CaseContext& ctx) {
  const auto& cfg = *ctx.config;
  if (imgs.dim() != 2 && imgs.dim() != 3)
    throw Error(fmt::format("{}: image array has shape {}; expected (H, W) or (H, W, 3)", src.image, imgs.sizes()));
  auto labels = label_ids(gts.dim() == 3 && gts.size(2) == 1 ? gts.squeeze(2) : gts, src.labels, cfg);
  if (labels.dim() != 2 || labels.size(0) != imgs.size(0) || labels.size(1) != imgs.size(1))
    throw Error(fmt::format("{} and {}: image {} and labels {} differ in size", src.image, src.labels, imgs.sizes(),
                            labels.sizes()));
  auto norm = stored_intensities(imgs, cfg, false);
  SliceMeta meta;
  meta.case_name = src.name;
  meta.image_path = src.image;
  meta.label_path = src.labels;
  meta.split = ctx.case_split;
  meta.intensity = norm.how;
  return convert_labeled_image(grey_if_possible(norm.data, src.image), std::move(labels), std::move(meta), ctx);
}

}  // namespace

CaseOutput convert_npy_case(const CaseSource& src, const CaseContext& ctx) {
  if (src.labels.empty()) throw Error(fmt::format("{}: no matching gts .npy file", src.image));
  return convert_2d(read_npy(src.image), read_npy(src.labels), src, ctx);
}

CaseOutput convert_npz_case(const CaseSource& src, const CaseContext& ctx) {
  at::Tensor imgs, gts;
  for (auto& [name, array] : read_npz(src.image, {"imgs", "gts"})) {
    if (name == "imgs") imgs = array;
    if (name == "gts") gts = array;
  }
  if (!imgs.defined()) throw Error(fmt::format("{}: no 'imgs' array", src.image));
  if (!gts.defined()) throw Error(fmt::format("{}: no 'gts' array (labels)", src.image));
  if (gts.dim() == 2 || (gts.dim() == 3 && gts.size(2) == 1)) return convert_2d(imgs, gts, src, ctx);
  // 3D: (D, H, W) images and labels.
  const auto& cfg = *ctx.config;
  if (imgs.sizes() != gts.sizes())
    throw Error(fmt::format("{}: imgs {} and gts {} differ in shape", src.image, imgs.sizes(), gts.sizes()));
  auto labels = label_ids(gts, src.image, cfg);
  auto norm = stored_intensities(imgs, cfg, true);
  SliceMeta meta;
  meta.case_name = src.name;
  meta.image_path = src.image;
  meta.label_path = src.image;
  meta.intensity = norm.how;
  return convert_labeled_volume(norm.data.contiguous(), std::move(labels), std::move(meta), ctx);
}

}  // namespace medsam::prep

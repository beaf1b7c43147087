#include "medsam/infer/predictor.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <optional>

#include "medsam/core/device.h"
#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/core/torch_compat.h"
#include "medsam/infer/postprocess.h"
#include "medsam/infer/preprocess.h"

namespace medsam::infer {

void check_boxes(const at::Tensor& boxes, int64_t height, int64_t width) {
  if (boxes.dim() != 2 || boxes.size(1) != 4)
    throw UsageError(fmt::format("boxes must be N x 4 (x0, y0, x1, y1), got shape {}", boxes.sizes()));
  const auto b = boxes.to(at::kDouble).contiguous();
  const double* p = b.data_ptr<double>();
  for (int64_t i = 0; i < b.size(0); ++i) {
    const double x0 = p[4 * i], y0 = p[4 * i + 1], x1 = p[4 * i + 2], y1 = p[4 * i + 3];
    const std::string name = fmt::format("box {} ({},{},{},{})", i + 1, x0, y0, x1, y1);
    // A box one pixel wide has x0 == x1 in files with inclusive corners (MedSAM's npz cases, the
    // CVPR 2024 challenge); the reference encodes it like any box. Only inverted (or NaN) boxes are refused.
    if (!(x0 <= x1) || !(y0 <= y1))
      throw UsageError(fmt::format("{} is inverted: need x0 <= x1 and y0 <= y1", name));
    if (x0 < 0 || y0 < 0 || x1 > width || y1 > height)
      throw UsageError(fmt::format("{} lies outside the {}x{} image (width x height)", name, width, height));
  }
}

int64_t box_chunk_size(int64_t height, int64_t width, int64_t masks_per_box) {
  constexpr int64_t kChunkBytes = int64_t(256) << 20;
  // On a GPU the decoder batches its prompts, each repeating the image embedding and its upscaled
  // features (tens of MB per prompt for ViT-B): 64 a call, as SAM's automatic mask generator batches.
  // ref: segment_anything/automatic_mask_generator.py points_per_batch = 64
  constexpr int64_t kMaxBoxes = 64;
  const int64_t per_box = std::max<int64_t>(1, masks_per_box * height * width * int64_t(sizeof(float)));
  return std::clamp<int64_t>(kChunkBytes / per_box, 1, kMaxBoxes);
}

namespace {
// One mask for every prompt, or one per prompt (what --save-logits wrote for N boxes), as
// SamPredictor.predict_torch takes B x 1 x 256 x 256.
void check_mask_input(const at::Tensor& mi, int64_t n, int64_t low) {
  if (mi.dim() != 4 || mi.size(2) != low || mi.size(3) != low || (mi.size(0) != 1 && mi.size(0) != n))
    throw UsageError(fmt::format("mask input has shape {}, expected [1, 1, {}, {}] or [{}, 1, {}, {}] (saved "
                                 "low-res logits: one map, or one per prompt)",
                                 mi.sizes(), low, low, n, low, low));
  if (mi.size(1) != 1)
    throw UsageError(fmt::format("mask input has {} masks per prompt (a --multimask output); pass one per prompt",
                                 mi.size(1)));
}

void check_points(const at::Tensor& points, const at::Tensor& labels, int64_t height, int64_t width) {
  if (points.dim() != 2 || points.size(1) != 2)
    throw UsageError(fmt::format("points must be P x 2 (x, y), got shape {}", points.sizes()));
  if (!labels.defined() || labels.dim() != 1 || labels.size(0) != points.size(0))
    throw UsageError("every point needs a label (1 foreground, 0 background)");
  const auto p = points.to(at::kDouble).contiguous();
  const auto l = labels.to(at::kLong).contiguous();
  for (int64_t i = 0; i < p.size(0); ++i) {
    const double x = p[i][0].item<double>(), y = p[i][1].item<double>();
    const int64_t label = l[i].item<int64_t>();
    if (!(x >= 0 && y >= 0 && x < width && y < height))  // written so that NaN fails too
      throw UsageError(fmt::format("point {} ({},{}) lies outside the {}x{} image", i + 1, x, y, width, height));
    if (label != 0 && label != 1)
      throw UsageError(fmt::format("point {} has label {}: use 1 (foreground) or 0 (background)", i + 1, label));
  }
}
}  // namespace

Predictor::Predictor(Sam model, c10::Device device, Precision precision)
    : model_(std::move(model)), device_(device), precision_(precision) {
  model_->to(device_);
  model_->eval();
  // bf16: the encoder's residual stream in bf16; bf16-autocast: in fp32, as torch.autocast keeps it.
  model_->image_encoder->inference_stream = residual_stream_for(precision_);
  // Only SAM ships vit_l/vit_h weights, and SAM was trained on another preprocessing than MedSAM's.
  const int64_t width = model_->image_encoder->config.embed_dim;
  if (width == 1024 || width == 1280)
    log_warn("a {} model: medsam preprocesses images as MedSAM does (stretched to {}², min-max to [0, 1]); SAM's "
             "own checkpoints expect SAM's (longest side resized, pixel mean/std, padding), which medsam does not "
             "implement, so their masks will be off",
             width == 1024 ? "vit_l" : "vit_h", model_->image_encoder->config.img_size);
}

// ref: segment_anything/predictor.py SamPredictor.set_image; MedSAM_Inference.py (resize, min-max)
void Predictor::set_image(const at::Tensor& image) {
  if (image.dim() != 2 && image.dim() != 3)
    throw UsageError(fmt::format("image must be H x W or H x W x C, got shape {}", image.sizes()));
  embedding_ = encode_images({image});
  height_ = image.size(0);
  width_ = image.size(1);
}

at::Tensor Predictor::encode_images(const std::vector<at::Tensor>& images) {
  if (images.empty()) throw Error("Predictor::encode_images: no images");
  torch::NoGradGuard no_grad;
  const int64_t size = model_->config.image_encoder.img_size;
  std::vector<at::Tensor> inputs;
  inputs.reserve(images.size());
  for (const auto& image : images) {
    if (image.dim() != 2 && image.dim() != 3)
      throw UsageError(fmt::format("image must be H x W or H x W x C, got shape {}", image.sizes()));
    inputs.push_back(preprocess_image(image, size));  // (1, 3, S, S) in [0, 1], min-max per image
  }
  return encode_preprocessed(inputs.size() == 1 ? inputs[0] : torch::cat(inputs, 0));
}

at::Tensor Predictor::encode_preprocessed(const at::Tensor& inputs) {
  const int64_t size = model_->config.image_encoder.img_size;
  if (inputs.dim() != 4 || inputs.size(1) != 3 || inputs.size(2) != size || inputs.size(3) != size)
    throw Error(fmt::format("Predictor::encode_preprocessed: inputs must be (K, 3, {}, {}), got {}", size, size, inputs.sizes()));
  torch::NoGradGuard no_grad;
  const at::Tensor batch = inputs.to(device_);
  PrecisionScope precision(precision_, device_, ModelPart::kImageEncoder);
  at::Tensor embeddings = model_->encode(batch).to(at::kFloat);  // (K, C, h, w)
  images_encoded_ += batch.size(0);
  return embeddings;
}

void Predictor::set_embedding(const at::Tensor& embedding, int64_t height, int64_t width) {
  const auto& e = model_->config.image_encoder;
  const int64_t grid = e.img_size / e.patch_size;
  if (embedding.dim() != 4 || embedding.size(0) != 1 || embedding.size(1) != e.out_chans ||
      embedding.size(2) != grid || embedding.size(3) != grid)
    throw UsageError(fmt::format("embedding has shape {}, this model ({}) needs [1, {}, {}, {}]", embedding.sizes(),
                                 model_->config.arch, e.out_chans, grid, grid));
  embedding_ = embedding.to(device_, at::kFloat);
  height_ = height;
  width_ = width;
}

// ref: segment_anything/predictor.py SamPredictor.predict_torch
ImagePrediction Predictor::predict(const ImagePrompts& prompts, bool multimask_output, double threshold) {
  return to_full_size(decode(prompts, multimask_output), height_, width_, threshold);
}

// ref: segment_anything/predictor.py SamPredictor.predict_torch, up to postprocess_masks
LowResPrediction Predictor::decode(const ImagePrompts& prompts, bool multimask_output) {
  if (!embedding_.defined()) throw Error("Predictor::predict called before set_image / set_embedding");
  const bool has_boxes = prompts.boxes.defined() && prompts.boxes.numel() > 0;
  const bool has_points = prompts.points.defined() && prompts.points.numel() > 0;
  if (!has_boxes && !has_points) throw UsageError("no prompt given: pass at least one box or point");
  if (has_boxes) check_boxes(prompts.boxes, height_, width_);
  if (has_points) {
    check_points(prompts.points, prompts.point_labels, height_, width_);
    if (has_boxes && prompts.boxes.size(0) > 1)
      throw UsageError("points combine with at most one box (one mask); got several boxes");
  }

  torch::NoGradGuard no_grad;
  const int64_t size = model_->config.image_encoder.img_size;
  Prompts p;
  int64_t n = 1;
  if (has_boxes) {
    p.boxes = scale_boxes(prompts.boxes.to(at::kFloat), height_, width_, size).to(device_);  // (N, 4)
    n = p.boxes.size(0);
  }
  if (has_points) {
    // (P, 2) original pixels -> (1, P, 2) encoder pixels: x * S / W, y * S / H
    auto scale = torch::tensor({static_cast<double>(size) / width_, static_cast<double>(size) / height_},
                               at::kFloat);
    p.point_coords = (prompts.points.to(at::kFloat) * scale).unsqueeze(0).to(device_);
    p.point_labels = prompts.point_labels.to(at::kLong).unsqueeze(0).to(device_);
  }
  if (prompts.mask_input.defined()) {
    const int64_t low = low_res_size();
    check_mask_input(prompts.mask_input, n, low);
    p.mask_inputs = prompts.mask_input.to(device_, at::kFloat).expand({n, 1, low, low});
  }

  // One image, N prompts: the decoder broadcasts the single embedding (MedSAM's batching rule).
  MaskPrediction out;
  {
    PrecisionScope precision(precision_, device_, ModelPart::kPromptAndMaskDecoder);
    out = model_->decode(embedding_, p, multimask_output);
  }
  return LowResPrediction{out.low_res_logits.to(at::kCPU, at::kFloat), out.iou.to(at::kCPU, at::kFloat)};
}

// ref: MedSAM_Inference.py medsam_inference (sigmoid, F.interpolate to the original size, > 0.5)
ImagePrediction to_full_size(LowResPrediction low, int64_t height, int64_t width, double threshold) {
  torch::NoGradGuard no_grad;
  ImagePrediction result;
  result.low_res_logits = std::move(low.low_res_logits);
  result.iou = std::move(low.iou);
  const int64_t m = result.low_res_logits.size(1);
  const auto flat = result.low_res_logits.reshape({-1, 1, result.low_res_logits.size(2), result.low_res_logits.size(3)});
  result.probabilities = logits_to_probabilities(flat, height, width).reshape({-1, m, height, width});
  result.masks = threshold_masks(result.probabilities, threshold);
  return result;
}

void Predictor::predict_chunked(const ImagePrompts& prompts, bool multimask_output, double threshold, int64_t chunk,
                                const ChunkConsumer& consume) {
  const bool has_points = prompts.points.defined() && prompts.points.numel() > 0;
  const int64_t n = prompts.boxes.defined() && prompts.boxes.dim() == 2 ? prompts.boxes.size(0) : 0;
  if (chunk <= 0) chunk = box_chunk_size(height_, width_, multimask_output ? 3 : 1);
  if (has_points || n <= chunk || !embedding_.defined()) {
    consume(0, predict(prompts, multimask_output, threshold));
    return;
  }
  check_boxes(prompts.boxes, height_, width_);
  const bool mask_per_box = prompts.mask_input.defined() && prompts.mask_input.dim() == 4 &&
                            prompts.mask_input.size(0) == n;
  if (prompts.mask_input.defined()) check_mask_input(prompts.mask_input, n, low_res_size());
  for (int64_t first = 0; first < n; first += chunk) {
    const int64_t end = std::min(n, first + chunk);
    ImagePrompts part = prompts;
    part.boxes = prompts.boxes.slice(0, first, end);
    if (mask_per_box) part.mask_input = prompts.mask_input.slice(0, first, end);
    consume(first, predict(part, multimask_output, threshold));
  }
}

int64_t Predictor::low_res_size() const {
  const auto& e = model_->config.image_encoder;
  return 4 * (e.img_size / e.patch_size);
}

}  // namespace medsam::infer

#include "medsam/serve/segment_service.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

#include "medsam/core/device.h"
#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/core/precision.h"
#include "medsam/io/image_header.h"
#include "medsam/infer/preprocess.h"
#include "medsam/model/load_sam.h"
#include "medsam/serve/image_id.h"
#include "medsam/serve/serve_errors.h"
#include "medsam/serve/upload_decode.h"

namespace medsam::serve {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

std::string intensity_key(const data::IntensitySpec& s) {
  return fmt::format("mode={};modality={};window={};percentiles={},{}", s.mode, s.modality, s.window, s.percentile_low,
                     s.percentile_high);
}

SegmentService::SegmentService(const ServiceOptions& options)
    : options_(options), store_(options.store_mib * 1024 * 1024) {
  if (options.store_mib < 1) throw UsageError(fmt::format("--store-mib {}: keep at least 1 MiB of embeddings", options.store_mib));
  if (options.max_prompts < 1) throw UsageError(fmt::format("--max-prompts {}: must be at least 1", options.max_prompts));
  if (options.max_points < 1) throw UsageError(fmt::format("--max-points {}: must be at least 1", options.max_points));
  if (options.max_image_pixels < 1 || options.max_mask_pixels < 1)
    throw UsageError("--max-image-pixels and --max-mask-pixels must be at least 1");
  const c10::Device device = parse_device(options.device);
  const Precision precision = parse_precision(options.precision, device);
  LoadedSam loaded = load_sam(options.checkpoint, options.arch);
  options_.arch = loaded.model->config.arch;
  predictor_ = std::make_unique<infer::Predictor>(loaded.model, device, precision);
}

ImageInfo SegmentService::add_image(const std::string& bytes, const std::string& content_type,
                                    const data::IntensitySpec& intensity) {
  upload_type(bytes, content_type);  // a wrong Content-Type is refused even when the bytes are stored
  ImageInfo info;
  info.id = image_id(bytes, intensity_key(intensity));
  {
    std::lock_guard<std::mutex> lock(store_mutex_);
    if (const StoredPtr* hit = store_.find(info.id)) {
      info.height = (*hit)->height;
      info.width = (*hit)->width;
      info.intensity = (*hit)->intensity;
      info.cached = true;
      return info;
    }
  }
  // A small file can hold a huge image (30000 x 30000 zeros compress to kilobytes), which the decoder
  // would allocate whole, and every later step copies in float: refused from the file's header, and
  // for what the header reader does not know (.npy, a malformed header) after decoding.
  const auto bytes_ptr = reinterpret_cast<const std::uint8_t*>(bytes.data());
  if (const std::optional<io::ImageDims> dims = io::read_image_dims(bytes_ptr, bytes.size()))
    check_image_pixels(dims->width, dims->height);
  const at::Tensor raw = decode_upload(bytes, content_type);
  check_image_pixels(raw.size(1), raw.size(0));
  const data::NormalizedImage image = data::normalize_for(raw, intensity);
  auto stored = std::make_shared<StoredImage>();
  stored->height = image.data.size(0);
  stored->width = image.data.size(1);
  stored->intensity = image.how;
  // The resize to the encoder's size (seconds for a large upload on the CPU) outside the model lock.
  const at::Tensor input = infer::preprocess_image(image.data, predictor_->model()->config.image_encoder.img_size);
  const auto t0 = Clock::now();
  {
    std::lock_guard<std::mutex> lock(model_mutex_);
    stored->embedding = predictor_->encode_preprocessed(input);
  }
  info.encoder_seconds = seconds_since(t0);
  info.height = stored->height;
  info.width = stored->width;
  info.intensity = stored->intensity;
  const auto bytes_held = static_cast<int64_t>(stored->embedding.nbytes());
  std::lock_guard<std::mutex> lock(store_mutex_);
  if (!store_.put(info.id, std::move(stored), bytes_held))
    throw UsageError(fmt::format("one embedding needs {:.1f} MiB, more than the store's {} MiB (--store-mib)",
                                 bytes_held / 1048576.0, options_.store_mib));
  return info;
}

SegmentResult SegmentService::segment(const SegmentRequest& request) {
  if (request.boxes.empty() && request.points.empty()) throw UsageError("give 'boxes' or 'points' (or both: one box with points)");
  if (int64_t(request.boxes.size()) > options_.max_prompts)
    throw UsageError(fmt::format("{} boxes in one request; this server takes at most {} (--max-prompts)",
                                 request.boxes.size(), options_.max_prompts));
  StoredPtr stored;
  {
    std::lock_guard<std::mutex> lock(store_mutex_);
    const StoredPtr* hit = store_.find(request.image_id);
    if (!hit)
      throw NotFoundError(fmt::format("image {} is not in the store (never uploaded, evicted to stay within "
                                      "--store-mib, or removed): POST it to /v1/images again",
                                      request.image_id));
    stored = *hit;
  }
  if (int64_t(request.points.size()) > options_.max_points)
    throw UsageError(fmt::format("{} points in one request; this server takes at most {} (--max-points)",
                                 request.points.size(), options_.max_points));
  // The answer's masks are full-size, and the steps before them hold them in float.
  const int64_t masks_wanted = std::max<int64_t>(1, int64_t(request.boxes.size())) * (request.multimask ? 3 : 1);
  if (masks_wanted * stored->height * stored->width > options_.max_mask_pixels)
    throw UsageError(fmt::format("{} masks of {}x{} pixels is more than this server answers at once ({} pixels, "
                                 "--max-mask-pixels): send fewer boxes per request, or no multimask",
                                 masks_wanted, stored->width, stored->height, options_.max_mask_pixels));
  infer::ImagePrompts prompts;
  if (!request.boxes.empty()) {
    prompts.boxes = torch::empty({int64_t(request.boxes.size()), 4}, at::kFloat);
    auto b = prompts.boxes.accessor<float, 2>();
    for (size_t i = 0; i < request.boxes.size(); ++i)
      for (int k = 0; k < 4; ++k) b[i][k] = static_cast<float>(request.boxes[i][k]);
  }
  if (!request.points.empty()) {
    const int64_t n = request.points.size();
    prompts.points = torch::empty({n, 2}, at::kFloat);
    prompts.point_labels = torch::empty({n}, at::kInt);
    auto xy = prompts.points.accessor<float, 2>();
    auto label = prompts.point_labels.accessor<int, 1>();
    for (int64_t i = 0; i < n; ++i) {
      xy[i][0] = static_cast<float>(request.points[i][0]);
      xy[i][1] = static_cast<float>(request.points[i][1]);
      label[i] = static_cast<int>(request.points[i][2]);
    }
  }
  SegmentResult result;
  result.height = stored->height;
  result.width = stored->width;
  const auto t0 = Clock::now();
  infer::LowResPrediction low;
  {
    std::lock_guard<std::mutex> lock(model_mutex_);
    predictor_->set_embedding(stored->embedding, stored->height, stored->width);
    low = predictor_->decode(prompts, request.multimask);
  }
  result.decoder_seconds = seconds_since(t0);
  // The full-size masks (N x M x H x W floats) outside the model lock: the next request decodes meanwhile.
  const infer::ImagePrediction pred = infer::to_full_size(std::move(low), stored->height, stored->width);
  const at::Tensor masks = pred.masks.to(at::kCPU).contiguous();  // (N, M, H, W), M = 1 or 3
  const at::Tensor iou = pred.iou.to(at::kCPU, at::kDouble);      // (N, M)
  const auto answer = [&](int64_t i, int64_t k) {
    return PromptMask{masks[i][k], iou[i][k].item<double>(), masks[i][k].sum().item<int64_t>(), {}};
  };
  for (int64_t i = 0; i < masks.size(0); ++i) {
    if (!request.multimask) {
      result.masks.push_back(answer(i, 0));
      continue;
    }
    std::vector<PromptMask> candidates;
    for (int64_t k = 0; k < masks.size(1); ++k) candidates.push_back(answer(i, k));
    PromptMask best = answer(i, iou[i].argmax().item<int64_t>());
    best.candidates = std::move(candidates);
    result.masks.push_back(std::move(best));
  }
  return result;
}

void SegmentService::check_image_pixels(int64_t width, int64_t height) const {
  if (height > 0 && width > options_.max_image_pixels / height)
    throw UsageError(fmt::format("the image is {}x{} pixels, more than this server takes ({}, --max-image-pixels)",
                                 width, height, options_.max_image_pixels));
}

bool SegmentService::remove_image(const std::string& id) {
  std::lock_guard<std::mutex> lock(store_mutex_);
  return store_.erase(id);
}

ServiceInfo SegmentService::info() const {
  ServiceInfo info{options_.checkpoint, options_.arch, options_.device, options_.precision,
                   predictor_->model()->config.image_encoder.img_size, {}};
  std::lock_guard<std::mutex> lock(store_mutex_);
  info.store = {int64_t(store_.size()), store_.bytes(), store_.capacity(), store_.hits(), store_.misses(), store_.evictions()};
  return info;
}

}  // namespace medsam::serve

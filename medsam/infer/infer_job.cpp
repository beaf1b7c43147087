#include "medsam/infer/infer_job.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/infer/label_map.h"
#include "medsam/infer/predictor.h"
#include "medsam/io/image.h"
#include "medsam/io/npy.h"
#include "medsam/io/volume.h"
#include "medsam/model/load_sam.h"

namespace medsam::infer {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

c10::Device parse_device(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available()) throw UsageError(fmt::format("--device {}: no CUDA device available", name));
    return c10::Device(name);
  }
  throw UsageError(fmt::format("--device '{}': use cpu or cuda[:N]", name));
}

bool is_image_extension(const std::string& path) {
  for (const char* ext : {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}) {
    const std::string e(ext);
    if (path.size() >= e.size()) {
      std::string tail = path.substr(path.size() - e.size());
      std::transform(tail.begin(), tail.end(), tail.begin(), ::tolower);
      if (tail == e) return true;
    }
  }
  return false;
}

// 2D input: an image file, or a one-slice NIfTI/DICOM/MHA.
struct Input2d {
  at::Tensor pixels;  // (H, W) or (H, W, C) raw
  std::optional<io::Volume> volume;  // geometry, when read through the volume path
};

Input2d read_2d(const std::string& path) {
  if (is_image_extension(path)) return {io::read_image(path), std::nullopt};
  io::Volume v = io::read_volume(path);
  if (v.data.size(0) != 1)
    throw UsageError(fmt::format("{}: a volume with {} slices; pass --box3d for 3D inference", path, v.data.size(0)));
  Input2d in{v.data[0], std::move(v)};
  return in;
}

void write_label_output(const std::string& path, const at::Tensor& labels, const Input2d& input) {
  if (is_image_extension(path) || !input.volume) {
    io::write_image(path, labels);
    return;
  }
  io::Volume out{labels.unsqueeze(0).contiguous(), input.volume->geometry};
  io::write_volume(path, out);
}

void run_2d(const InferJob& job, Predictor& predictor) {
  Input2d input = read_2d(job.image);
  const at::Tensor image = normalize_intensity(input.pixels, job.intensity);
  const int64_t h = image.size(0), w = image.size(1);

  const auto t0 = Clock::now();
  if (!job.embedding.empty()) {
    predictor.set_embedding(read_npy(job.embedding), h, w);
    log_info("embedding: {} (encoder skipped)", job.embedding);
  } else {
    predictor.set_image(image);
    log_info("encoder: {}x{} image -> embedding {} in {:.2f} s", w, h, predictor.embedding().sizes(), seconds_since(t0));
  }
  if (!job.save_embedding.empty()) {
    write_npy(job.save_embedding, predictor.embedding().to(at::kCPU).contiguous());
    log_info("wrote {}", job.save_embedding);
  }

  ImagePrompts prompts;
  at::Tensor box_labels;
  if (!job.boxes.empty()) {
    prompts.boxes = torch::empty({int64_t(job.boxes.size()), 4}, at::kFloat);
    box_labels = torch::empty({int64_t(job.boxes.size())}, at::kLong);
    for (size_t i = 0; i < job.boxes.size(); ++i) {
      const auto& b = job.boxes[i];
      prompts.boxes[i] = torch::tensor({b.x0, b.y0, b.x1, b.y1}, at::kFloat);
      box_labels[i] = b.label > 0 ? b.label : int64_t(i + 1);
    }
  }
  if (!job.points.empty()) {
    prompts.points = torch::empty({int64_t(job.points.size()), 2}, at::kFloat);
    prompts.point_labels = torch::empty({int64_t(job.points.size())}, at::kLong);
    for (size_t i = 0; i < job.points.size(); ++i) {
      prompts.points[i] = torch::tensor({job.points[i][0], job.points[i][1]}, at::kFloat);
      prompts.point_labels[i] = static_cast<int64_t>(job.points[i][2]);
    }
  }
  if (!job.mask_input.empty()) {
    at::Tensor m = read_npy(job.mask_input);
    prompts.mask_input = m.dim() == 3 ? m.unsqueeze(0) : m;
  }

  const auto t1 = Clock::now();
  const ImagePrediction pred = predictor.predict(prompts, job.multimask);
  log_info("decoder: {} prompt(s) -> masks in {:.3f} s", pred.low_res_logits.size(0), seconds_since(t1));

  // Output channel 0 of each prompt (with --multimask all three go to the .npy files).
  const at::Tensor prob = pred.probabilities.select(1, 0);  // (N, H, W)
  if (!job.save_logits.empty()) {
    write_npy(job.save_logits, pred.low_res_logits.contiguous());
    log_info("wrote {} {}", job.save_logits, pred.low_res_logits.sizes());
  }
  if (!job.save_prob.empty()) {
    write_npy(job.save_prob, (job.multimask ? pred.probabilities : prob).contiguous());
    log_info("wrote {}", job.save_prob);
  }
  at::Tensor labels = compose_label_map(prob);
  if (box_labels.defined()) {
    // Map prompt index i+1 to the box's own label; the lookup keeps 0 as background.
    const at::Tensor lut = torch::cat({torch::zeros({1}, at::kLong), box_labels});
    labels = lut.index_select(0, labels.to(at::kLong).flatten()).view(labels.sizes());
    labels = labels.to(lut.max().item<int64_t>() < 256 ? at::kByte : at::kInt);
  }
  if (!job.output.empty()) {
    write_label_output(job.output, labels, input);
    log_info("wrote {} ({} foreground pixels)", job.output, (labels > 0).sum().item<int64_t>());
  }
  if (!job.overlay.empty()) {
    io::write_image(job.overlay, draw_overlay(image, labels, prompts.boxes));
    log_info("wrote {}", job.overlay);
  }
}

void run_3d(const InferJob& job, Predictor& predictor) {
  for (const auto* flag : {&job.embedding, &job.save_embedding, &job.save_logits, &job.save_prob, &job.mask_input})
    if (!flag->empty()) throw UsageError("--embedding/--save-embedding/--save-logits/--save-prob/--mask-input are 2D only");
  if (!job.boxes.empty() || !job.points.empty()) throw UsageError("--box3d cannot be combined with --box or --point");
  io::Volume volume = io::read_volume(job.image);
  log_info("volume: {} (z, y, x) {}, spacing {}", job.image, volume.data.sizes(), volume.geometry.spacing);
  const at::Tensor normalized = normalize_intensity(volume.data, job.intensity);
  const auto t0 = Clock::now();
  const at::Tensor mask =
      segment_volume(predictor, normalized, *job.box3d, job.propagation, [&](int64_t done, int64_t total) {
        if (done == total || done % 10 == 0) log_info("slices {}/{} ({:.1f} s)", done, total, seconds_since(t0));
      });
  if (!job.output.empty()) {
    io::write_volume(job.output, io::Volume{mask, volume.geometry});
    log_info("wrote {} ({} foreground voxels)", job.output, mask.sum().item<int64_t>());
  }
  if (!job.overlay.empty()) {
    const int64_t mid = static_cast<int64_t>((job.box3d->z0 + job.box3d->z1) / 2);
    const at::Tensor box = torch::tensor({job.box3d->x0, job.box3d->y0, job.box3d->x1, job.box3d->y1}).unsqueeze(0);
    io::write_image(job.overlay, draw_overlay(normalized[mid], mask[mid], box));
    log_info("wrote {} (slice {})", job.overlay, mid);
  }
}

}  // namespace

void run_infer_job(const InferJob& job) {
  if (job.checkpoint.empty()) throw UsageError("--checkpoint is required");
  if (job.image.empty()) throw UsageError("--image is required");
  if (job.output.empty() && job.save_logits.empty() && job.save_prob.empty() && job.overlay.empty() &&
      job.save_embedding.empty())
    throw UsageError("nothing to write: give --output, --overlay, --save-logits, --save-prob or --save-embedding");
  const c10::Device device = parse_device(job.device);
  const auto t0 = Clock::now();
  LoadedSam loaded = load_sam(job.checkpoint, job.arch);
  log_info("model: {} from {} ({} tensors{}) in {:.2f} s", loaded.model->config.arch, job.checkpoint,
           loaded.report.loaded, loaded.report.stripped_prefix.empty() ? "" : ", 'module.' prefix stripped",
           seconds_since(t0));
  Predictor predictor(loaded.model, device);
  if (job.box3d) run_3d(job, predictor);
  else run_2d(job, predictor);
}

}  // namespace medsam::infer

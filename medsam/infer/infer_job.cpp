#include "medsam/infer/infer_job.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <chrono>
#include <utility>

#include "medsam/core/device.h"
#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/infer/label_map.h"
#include "medsam/infer/npz_case.h"
#include "medsam/infer/predictor.h"
#include "medsam/infer/preprocess.h"
#include "medsam/io/atomic_file.h"
#include "medsam/io/file_name.h"
#include "medsam/io/image.h"
#include "medsam/io/npy.h"
#include "medsam/io/volume.h"
#include "medsam/model/load_sam.h"

namespace medsam::infer {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

at::Tensor normalize(const at::Tensor& raw, const data::IntensitySpec& spec) { return data::normalize_for(raw, spec).data; }

// 2D input: an image file, or a one-slice NIfTI/DICOM/MHA.
struct Input2d {
  at::Tensor pixels;  // (H, W) or (H, W, C) raw
  std::optional<io::Volume> volume;  // geometry, when read through the volume path
};

Input2d read_2d(const std::string& path) {
  if (io::looks_like_image_file(path)) return {io::read_image(path), std::nullopt};
  io::Volume v = io::read_volume(path);
  if (v.data.size(0) != 1)
    throw UsageError(fmt::format("{}: a volume with {} slices; pass --box3d or --slice-boxes for 3D inference", path, v.data.size(0)));
  Input2d in{v.data[0], std::move(v)};
  return in;
}

void write_label_output(const std::string& path, const at::Tensor& labels, const Input2d& input) {
  if (io::looks_like_image_file(path) || !input.volume) {
    io::write_image(path, labels);
    return;
  }
  io::Volume out{labels.unsqueeze(0).contiguous(), input.volume->geometry};
  io::write_volume(path, out);
}

void run_2d(const InferJob& job, Predictor& predictor) {
  Input2d input = read_2d(job.image);
  // Alpha is no intensity: an opaque 16-bit alpha (65535) would set the percentile clip's top.
  const at::Tensor image = normalize(drop_alpha(input.pixels), job.intensity);
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

  // Decoded in chunks of boxes, each folded into the label map before the next (Predictor::predict_chunked):
  // memory holds one chunk's full-size maps, not every box's. --save-prob still gathers all of them.
  const auto t1 = Clock::now();
  const int64_t n = prompts.boxes.defined() ? prompts.boxes.size(0) : 1;
  LabelMapComposer composer(h, w, n);
  std::vector<at::Tensor> logits, probs;
  const auto fold_chunk = [&](int64_t first, const ImagePrediction& pred) {
    // One mask per prompt: the only one, or with --multimask the one of highest predicted IoU (as SAM's
    // demos and `medsam serve` choose; all three go to the .npy files).
    // ref: segment_anything/utils/onnx.py SamOnnxModel.select_masks (argmax of the IoU predictions)
    const at::Tensor best = pred.iou.argmax(1);                                              // (n)
    const at::Tensor prob = pred.probabilities.index({torch::arange(best.size(0)), best});  // (n, H, W)
    if (job.multimask)
      for (int64_t i = 0; i < best.size(0); ++i)
        log_info("prompt {}: mask {} of 3 written (predicted IoU {:.3f})", first + i + 1, best[i].item<int64_t>() + 1,
                 pred.iou[i][best[i]].item<float>());
    if (!job.save_logits.empty()) logits.push_back(pred.low_res_logits);
    if (!job.save_prob.empty()) probs.push_back(job.multimask ? pred.probabilities : prob);
    composer.add(first, prob);
  };
  predictor.predict_chunked(prompts, job.multimask, 0.5, job.propagation.box_chunk, fold_chunk);
  log_info("decoder: {} prompt(s) -> masks in {:.3f} s", n, seconds_since(t1));
  if (!job.save_logits.empty()) {
    const at::Tensor all = torch::cat(logits).contiguous();
    write_npy(job.save_logits, all);
    log_info("wrote {} {}", job.save_logits, all.sizes());
  }
  if (!job.save_prob.empty()) {
    write_npy(job.save_prob, torch::cat(probs).contiguous());
    log_info("wrote {}", job.save_prob);
  }
  // Overlapping boxes: the most probable box takes the pixel (not the later box, as in .npz cases).
  at::Tensor labels = composer.labels();
  if (box_labels.defined()) labels = relabel_prompts(labels, box_labels);  // prompt i+1 -> the box's label
  if (!job.output.empty()) {
    write_label_output(job.output, labels, input);
    log_info("wrote {} ({} foreground pixels)", job.output, (labels > 0).sum().item<int64_t>());
  }
  if (!job.overlay.empty()) {
    io::write_image(job.overlay, draw_overlay(image, labels, prompts.boxes));
    log_info("wrote {}", job.overlay);
  }
}

// Label volume out: .npz gets `segs` (z, y, x); any volume extension keeps the input's geometry.
void write_label_volume(const std::string& path, const at::Tensor& labels, const io::VolumeGeometry& geometry) {
  if (io::has_extension(path, {".npz"})) write_npz(path, {{"segs", labels.contiguous()}});
  else io::write_volume(path, io::Volume{labels.contiguous(), geometry});
}

SliceProgress slice_logger(Clock::time_point t0) {
  return [t0](int64_t done, int64_t total) {
    if (done == total || done % 10 == 0)
      log_info("slices {}/{} ({:.1f} s, {:.2f} slices/s)", done, total, seconds_since(t0), done / seconds_since(t0));
  };
}

void reject_2d_only_flags(const InferJob& job, const char* what) {
  for (const auto* flag : {&job.embedding, &job.save_embedding, &job.save_logits, &job.save_prob, &job.mask_input})
    if (!flag->empty())
      throw UsageError(fmt::format("--embedding/--save-embedding/--save-logits/--save-prob/--mask-input are for 2D "
                                   "images only, not {}",
                                   what));
}

void run_3d(const InferJob& job, Predictor& predictor) {
  reject_2d_only_flags(job, "volumes");
  if (!job.boxes.empty() || !job.points.empty())
    throw UsageError("--box3d/--slice-boxes cannot be combined with --box or --point");
  if (job.box3d && !job.slice_boxes.empty()) throw UsageError("give either --box3d or --slice-boxes, not both");
  io::Volume volume = io::read_volume(job.image);
  log_info("volume: {} (z, y, x) {}, spacing {}", job.image, volume.data.sizes(), volume.geometry.spacing);
  const at::Tensor normalized = normalize(volume.data, job.intensity);
  const auto t0 = Clock::now();
  at::Tensor labels;
  int64_t overlay_slice = 0;
  at::Tensor overlay_boxes;
  if (job.box3d) {
    labels = segment_volume(predictor, normalized, *job.box3d, job.propagation, slice_logger(t0));
    overlay_slice = static_cast<int64_t>((job.box3d->z0 + job.box3d->z1) / 2);
    overlay_boxes = torch::tensor({job.box3d->x0, job.box3d->y0, job.box3d->x1, job.box3d->y1}).unsqueeze(0);
  } else {
    labels = segment_slices(predictor, normalized, job.slice_boxes, job.propagation, slice_logger(t0));
    overlay_slice = job.slice_boxes.front().slice;
    std::vector<double> coords;
    for (const auto& b : job.slice_boxes)
      if (b.slice == overlay_slice) coords.insert(coords.end(), {b.x0, b.y0, b.x1, b.y1});
    overlay_boxes = torch::tensor(coords).view({-1, 4});
  }
  if (!job.output.empty()) {
    write_label_volume(job.output, labels, volume.geometry);
    log_info("wrote {} ({} foreground voxels)", job.output, (labels > 0).sum().item<int64_t>());
  }
  if (!job.overlay.empty()) {
    io::write_image(job.overlay, draw_overlay(normalized[overlay_slice], labels[overlay_slice], overlay_boxes));
    log_info("wrote {} (slice {})", job.overlay, overlay_slice);
  }
}

// A MedSAM/CVPR challenge case: imgs + boxes in, segs out.
void run_npz(const InferJob& job, Predictor& predictor) {
  reject_2d_only_flags(job, ".npz cases");
  if (!job.boxes.empty() || !job.points.empty() || job.box3d || !job.slice_boxes.empty())
    throw UsageError(fmt::format("{}: an .npz case carries its own 'boxes'; drop --box/--point/--box3d/--slice-boxes",
                                 job.image));
  if (!job.overlay.empty()) throw UsageError("--overlay is not available for .npz cases");
  const NpzCase c = read_npz_case(job.image);
  log_info("npz case: {} imgs {} {} boxes ({})", job.image, c.imgs.sizes(), c.boxes.size(0), c.is_3d ? "3D" : "2D");
  const at::Tensor image = normalize(c.imgs, job.intensity);
  const auto t0 = Clock::now();
  const at::Tensor segs = segment_npz_case(predictor, c, image, job.propagation, slice_logger(t0));
  write_npz(job.output, {{"segs", segs.contiguous()}});
  log_info("wrote {} segs {} ({} foreground {}; the encoder ran on {} image(s))", job.output, segs.sizes(),
           (segs > 0).sum().item<int64_t>(), c.is_3d ? "voxels" : "pixels", predictor.images_encoded());
}

bool is_3d_job(const InferJob& job) { return job.box3d || !job.slice_boxes.empty(); }

// --output checked before the (slow) model load, so that a name no writer takes is a usage error naming
// what works for this input, not OpenCV's or ITK's message after the model ran.
void check_output_name(const InferJob& job) {
  // Label maps need exact values: JPEG changes them near every edge and BMP/JPEG hold 8 bits (labels above
  // 255 would all become 255). Pictures for people (--overlay) may be JPEG.
  if (io::has_extension(job.output, {".jpg", ".jpeg", ".bmp"}))
    throw UsageError(fmt::format("--output '{}': a label map needs a lossless format that keeps its values (.png, "
                                 ".tif, or a volume format such as .nii.gz); JPEG and BMP do not", job.output));
  if (io::has_extension(job.image, {".npz"})) {
    if (!io::has_extension(job.output, {".npz"}))
      throw UsageError(fmt::format("--output '{}': an .npz case is answered with an .npz holding 'segs'", job.output));
    return;
  }
  if (job.output.empty() || is_3d_job(job)) return;  // volumes: .npz or any format ITK writes
  // 2D: write_label_output writes an image, or a volume for an input read as a one-slice volume.
  if (io::has_extension(job.output, {".png", ".tif", ".tiff"})) return;
  const bool image_input = io::looks_like_image_file(job.image);
  if (!image_input && io::looks_like_volume_file(job.output)) return;
  throw UsageError(fmt::format(
      "--output '{}': a 2D label map of {} is written as {}", job.output, job.image,
      image_input ? ".png, .tif or .tiff"
                  : ".png, .tif or .tiff, or a volume format (.nii.gz, .nii, .mha, .mhd, .nrrd, .nhdr) in the input's geometry"));
}

}  // namespace

void run_infer_job(const InferJob& job) {
  if (job.checkpoint.empty()) throw UsageError("--checkpoint is required");
  if (job.image.empty()) throw UsageError("--image is required");
  if (job.output.empty() && job.save_logits.empty() && job.save_prob.empty() && job.overlay.empty() &&
      job.save_embedding.empty())
    throw UsageError("nothing to write: give --output, --overlay, --save-logits, --save-prob or --save-embedding");
  check_output_name(job);
  // Every output's folder before the model runs: one missing folder leaves none of the outputs written.
  const std::pair<const std::string*, const char*> outputs[] = {{&job.output, "--output"},
                                                                {&job.overlay, "--overlay"},
                                                                {&job.save_embedding, "--save-embedding"},
                                                                {&job.save_logits, "--save-logits"},
                                                                {&job.save_prob, "--save-prob"}};
  for (const auto& [path, flag] : outputs) check_output_folder(*path, flag);
  const c10::Device device = parse_device(job.device);
  const Precision precision = parse_precision(job.precision, device);  // before the (slow) checkpoint load
  const auto t0 = Clock::now();
  LoadedSam loaded = load_sam(job.checkpoint, job.arch);
  log_info("model: {} from {} ({} tensors{}) in {:.2f} s", loaded.model->config.arch, job.checkpoint,
           loaded.report.loaded, loaded.report.stripped_prefix.empty() ? "" : ", 'module.' prefix stripped",
           seconds_since(t0));
  Predictor predictor(loaded.model, device, precision);
  if (io::has_extension(job.image, {".npz"})) run_npz(job, predictor);
  else if (is_3d_job(job)) run_3d(job, predictor);
  else run_2d(job, predictor);
}

}  // namespace medsam::infer

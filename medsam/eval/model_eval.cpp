#include "medsam/eval/model_eval.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <algorithm>

#include "medsam/core/error.h"
#include "medsam/data/prompt_sampler.h"
#include "medsam/data/sample_rng.h"
#include "medsam/eval/metrics_report.h"
#include "medsam/eval/sample_spacing.h"
#include "medsam/eval/split_samples.h"
#include "medsam/infer/predictor.h"

namespace medsam::eval {

namespace {

// Puts the model back in the train/eval mode it had, however evaluation ends.
class ModeRestorer {
 public:
  explicit ModeRestorer(Sam& model) : model_(model), was_training_(model->is_training()) {}
  ~ModeRestorer() { model_->train(was_training_); }

 private:
  Sam& model_;
  bool was_training_;
};

c10::Device model_device(const Sam& model) {
  const auto params = model->parameters();
  return params.empty() ? c10::Device(c10::kCPU) : params.front().device();
}

// Box prompts (N, 4) for a sample's objects: the tight box from the index, each side moved outward
// by U[0, jitter] (MedSAM's training jitter, drawn per (seed, sample, label) so a sample's boxes do
// not depend on which other samples are evaluated). A box one pixel wide or high (x0 == x1) gets its
// far side moved out by one pixel: the predictor refuses empty boxes.
// ref: MedSAM train_one_gpu.py NpyDataset.__getitem__ (bbox from the mask, bbox_shift)
at::Tensor object_boxes(const SplitSample& sample, std::size_t ordinal, int64_t height, int64_t width,
                        const ModelEvalOptions& options) {
  auto boxes = at::empty({static_cast<int64_t>(sample.objects.size()), 4}, at::kFloat);
  auto* out = boxes.data_ptr<float>();
  for (std::size_t k = 0; k < sample.objects.size(); ++k) {
    const auto& o = sample.objects[k];
    std::array<float, 4> b{static_cast<float>(o.x0), static_cast<float>(o.y0), static_cast<float>(o.x1),
                           static_cast<float>(o.y1)};
    if (options.jitter_px > 0) {
      data::SampleRng rng{options.seed, static_cast<std::uint64_t>(ordinal), static_cast<std::uint64_t>(o.label)};
      b = data::jitter_box({o.x0, o.y0, o.x1, o.y1}, width, height, options.jitter_px, rng);
    }
    if (b[2] <= b[0]) b[2] = std::min<float>(b[0] + 1, static_cast<float>(width));
    if (b[3] <= b[1]) b[3] = std::min<float>(b[1] + 1, static_cast<float>(height));
    std::copy(b.begin(), b.end(), out + 4 * k);
  }
  return boxes;
}

}  // namespace

void evaluate_samples(Sam& model, const ModelEvalOptions& options,
                      const std::function<void(const EvaluatedSample&, int64_t, int64_t)>& on_sample) {
  if (options.jitter_px < 0) throw UsageError(fmt::format("jitter {} px: must be >= 0", options.jitter_px));
  const SplitSamples samples(options.shards_dir, options.split, options.min_object_pixels, options.max_samples);
  ModeRestorer restore(model);
  const c10::Device device = model_device(model);
  infer::Predictor predictor(model, device, parse_precision(options.precision, device));  // eval mode
  c10::InferenceMode inference;
  const auto total = static_cast<int64_t>(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const SplitSample& s = samples.sample(i);
    const std::string what = fmt::format("data {}: {}/{} slice {}", options.shards_dir, s.dataset, s.case_id, s.slice);
    auto raw = samples.read(i);
    const int64_t height = raw.labels.size(0), width = raw.labels.size(1);
    const PixelSpacing spacing = sample_pixel_spacing(raw.json, height, width, what);

    // One encoder pass, every object's box in one decoder batch, MedSAM's sigmoid -> bilinear resize
    // to the stored size -> > 0.5.
    predictor.set_image(raw.image);
    infer::ImagePrompts prompts;
    prompts.boxes = object_boxes(s, i, height, width, options);
    const infer::ImagePrediction pred = predictor.predict(prompts);

    EvaluatedSample out;
    out.image = raw.image;
    out.labels = raw.labels;
    out.masks = pred.masks.select(1, 0);  // (N, H, W)
    out.boxes = prompts.boxes;
    out.spacing_mm = spacing.rows_cols;
    out.spacing_from_metadata = spacing.from_metadata;
    for (std::size_t k = 0; k < s.objects.size(); ++k) {
      const int64_t label = s.objects[k].label;
      const MaskScores m = score_masks(out.masks[static_cast<int64_t>(k)], raw.labels == label, spacing.rows_cols,
                                       options.metrics);
      out.scores.push_back({s.dataset, s.modality, s.case_id, s.slice, label, m.dsc, m.nsd});
    }
    if (on_sample) on_sample(out, static_cast<int64_t>(i) + 1, total);
  }
}

ModelEvalResult evaluate_model(Sam& model, const ModelEvalOptions& options,
                               const std::function<void(int64_t, int64_t)>& progress) {
  ModelEvalResult result;
  evaluate_samples(model, options, [&](const EvaluatedSample& sample, int64_t done, int64_t total) {
    result.scores.insert(result.scores.end(), sample.scores.begin(), sample.scores.end());
    if (progress) progress(done, total);
  });
  std::vector<double> dsc, nsd;
  for (const auto& s : result.scores) {
    dsc.push_back(s.dsc);
    nsd.push_back(s.nsd);
  }
  const Stats d = compute_stats(dsc), n = compute_stats(nsd);
  result.mean_dsc = d.mean;
  result.median_dsc = d.median;
  result.mean_nsd = n.mean;
  result.median_nsd = n.median;
  return result;
}

}  // namespace medsam::eval

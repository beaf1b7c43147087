// Scoring a model on prepared shards: ground-truth boxes in, DSC and NSD per object out. What the
// trainer's validation and `medsam eval --checkpoint --data` share.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "medsam/eval/mask_scores.h"
#include "medsam/model/sam.h"

namespace medsam::eval {

struct ModelEvalOptions {
  std::string shards_dir;          // a `medsam prep` output folder (manifest + shards)
  std::string split = "val";       // train | val | test (the split recorded per sample by medsam prep)
  int64_t max_samples = 0;         // 0 = every sample of the split; else the first N in a fixed order
  int64_t min_object_pixels = 1;   // objects smaller than this (in the stored label map) are not scored
  int jitter_px = 0;               // 0: tight ground-truth boxes; >0: each side moved outward by U[0, jitter_px], seeded
  uint64_t seed = 0;
  MetricOptions metrics;           // NSD tolerance, empty-case rule, cvpr2024
  std::string precision = "fp32";  // fp32 | bf16, as `medsam infer --precision` (CUDA: the model; CPU: the encoder)
};

struct ObjectScore {
  std::string dataset, modality, case_id;
  int64_t slice = 0;
  int64_t label = 0;
  double dsc = 0, nsd = 0;
};

struct ModelEvalResult {
  std::vector<ObjectScore> scores;  // one per (sample, label), in sample order then label order
  double mean_dsc = 0, median_dsc = 0, mean_nsd = 0, median_nsd = 0;  // over all scores
};

// Runs the model on every sample of the split with one box per object (one encoder pass per image,
// all its boxes in one decoder batch, MedSAM post-processing, threshold 0.5) and scores DSC/NSD.
// `progress(done, total)` is called after each sample when set. Model is used in eval mode under
// inference mode; the caller's train/eval mode is restored.
ModelEvalResult evaluate_model(Sam& model, const ModelEvalOptions& options,
                               const std::function<void(int64_t, int64_t)>& progress = {});

// One evaluated sample with its pictures, for reports that draw them (the HTML gallery).
struct EvaluatedSample {
  std::vector<ObjectScore> scores;     // one per scored object, label order
  at::Tensor image;                    // (H, W, C) uint8 as stored in the shard
  at::Tensor labels;                   // (H, W) int32 ground-truth label map
  at::Tensor masks;                    // (N, H, W) uint8 predictions; row k belongs to scores[k]
  at::Tensor boxes;                    // (N, 4) float box prompts x0, y0, x1, y1 in stored pixels
  std::vector<double> spacing_mm;      // rows, cols: what NSD used
  bool spacing_from_metadata = false;  // false: the shard had no spacing and 1 mm was assumed
};

// evaluate_model's loop, handing each sample to `on_sample(sample, done, total)` instead of
// collecting scores. Same model-mode guarantees.
void evaluate_samples(Sam& model, const ModelEvalOptions& options,
                      const std::function<void(const EvaluatedSample&, int64_t, int64_t)>& on_sample);

}  // namespace medsam::eval

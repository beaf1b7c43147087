// Prompts cut from one target mask: MedSAM's jittered tight box, optional SAM-style points.
#pragma once

#include <ATen/Tensor.h>

#include <array>
#include <cstdint>
#include <vector>

#include "medsam/core/config_data.h"
#include "medsam/data/sample_rng.h"

namespace medsam::data {

// Inclusive tight box {x0, y0, x1, y1} of the non-zero pixels of an (H, W) mask; {-1,-1,-1,-1} if empty.
std::array<std::int64_t, 4> tight_box(const at::Tensor& mask);

// ref: MedSAM train_one_gpu.py NpyDataset.__getitem__:
//   x_min = max(0, x_min - randint(0, shift)); x_max = min(W, x_max + randint(0, shift)) (same for y)
// Each side moves outward by its own uniform integer in [0, shift] (both ends included); the upper
// clamp is W (H), as upstream. Draw order: x0, x1, y0, y1 (upstream's order).
std::array<float, 4> jitter_box(const std::array<std::int64_t, 4>& tight, std::int64_t width, std::int64_t height,
                                int shift, SampleRng& rng);

// ref: MedSAM NpyDataset.__getitem__ random.choice(label_ids): uniform over the candidates.
std::uint16_t choose_label(const std::vector<std::uint16_t>& candidates, SampleRng& rng);

struct Prompt {
  std::array<float, 4> box{};                 // x0, y0, x1, y1 in pixels of the mask's frame
  std::vector<std::array<float, 2>> points;   // (x, y) pixel indices; SAM's encoder adds +0.5
  std::vector<std::int64_t> point_labels;     // 1 inside the mask, 0 outside
};

class PromptSampler {
 public:
  explicit PromptSampler(const PromptConfig& config) : config_(config) {}
  // `mask` (H, W) bool or 0/1, not empty. Positives are uniform over mask pixels; negatives uniform
  // over non-mask pixels inside the jittered box, or anywhere outside the mask if the box has none.
  Prompt sample(const at::Tensor& mask, SampleRng& rng) const;
  int points_per_prompt() const { return config_.points ? config_.positive_points + config_.negative_points : 0; }

 private:
  PromptConfig config_;
};

}  // namespace medsam::data

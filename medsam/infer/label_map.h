// Turning per-prompt masks into one picture-sized answer: a label map and an overlay to look at.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

namespace medsam::infer {

// probabilities (N, H, W) -> (H, W) label map: pixel = 1 + index of the most probable prompt among
// those above `threshold`, 0 where none is (ties: the earlier prompt). uint8 for N < 256, else int32
// (written as 16-bit PNG). The rule of --box/--boxes and --slice-boxes; .npz cases instead let the later
// box win, as the challenge's reference does (npz_case.h).
at::Tensor compose_label_map(const at::Tensor& probabilities, double threshold = 0.5);

// compose_label_map over prompts that arrive in chunks (Predictor::predict_chunked): the same label map,
// holding one (H, W) best probability and index instead of all N maps.
class LabelMapComposer {
 public:
  LabelMapComposer(int64_t height, int64_t width, int64_t prompts, double threshold = 0.5);
  // probabilities (n, H, W) of prompts first .. first + n - 1, in order.
  void add(int64_t first, const at::Tensor& probabilities);
  at::Tensor labels() const;

 private:
  at::Tensor best_;   // (H, W) float: the highest probability so far
  at::Tensor index_;  // (H, W) int64: its prompt's index
  int64_t prompts_;
  double threshold_;
};

// A label map of prompt indices (1..N, 0 background) -> each prompt's own label: pixel value i becomes
// labels[i-1] (int64 tensor of N positive ids), 0 stays 0. uint8 when every label is < 256, else int32.
at::Tensor relabel_prompts(const at::Tensor& index_map, const at::Tensor& labels);

// image (H, W) or (H, W, C) any dtype, labels (H, W), boxes (N, 4) or undefined -> (H, W, 3) uint8:
// the image min-max scaled to 0..255, each label blended in its own colour at 50%, each box outlined.
at::Tensor draw_overlay(const at::Tensor& image, const at::Tensor& labels, const at::Tensor& boxes = {});

}  // namespace medsam::infer

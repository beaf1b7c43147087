// Turning per-prompt masks into one picture-sized answer: a label map and an overlay to look at.
#pragma once

#include <ATen/Tensor.h>

namespace medsam::infer {

// probabilities (N, H, W) -> (H, W) label map: pixel = 1 + index of the most probable prompt among
// those above `threshold`, 0 where none is. uint8 for N < 256, else int32 (written as 16-bit PNG).
at::Tensor compose_label_map(const at::Tensor& probabilities, double threshold = 0.5);

// A label map of prompt indices (1..N, 0 background) -> each prompt's own label: pixel value i becomes
// labels[i-1] (int64 tensor of N positive ids), 0 stays 0. uint8 when every label is < 256, else int32.
at::Tensor relabel_prompts(const at::Tensor& index_map, const at::Tensor& labels);

// image (H, W) or (H, W, C) any dtype, labels (H, W), boxes (N, 4) or undefined -> (H, W, 3) uint8:
// the image min-max scaled to 0..255, each label blended in its own colour at 50%, each box outlined.
at::Tensor draw_overlay(const at::Tensor& image, const at::Tensor& labels, const at::Tensor& boxes = {});

}  // namespace medsam::infer

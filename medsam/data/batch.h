// What a training or validation step consumes: the contract between the data pipeline
// (medsam/data: dataset, sampler, loader) and the trainer (medsam/train).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace medsam::data {

// Where one prompt of a batch came from (for logs, per-modality metrics and reports).
struct PromptSource {
  std::string key;        // sample key in its shard (e.g. "colin27_z090")
  std::string dataset;    // dataset name from the manifest
  std::uint8_t modality;  // data::Modality id
  std::int32_t label;     // label id the target mask was cut from
};

// One batch. Images and prompts are separate axes: with one object per image (MedSAM's rule)
// Bp == Bi and image_index = [0, 1, ..., B-1]; with "all objects of a slice" Bp >= Bi and several
// prompts share an image (the encoder runs once per image).
struct Batch {
  at::Tensor images;        // (Bi, 3, S, S) float32 in [0, 1], min-max per image (MedSAM: no mean/std)
  at::Tensor image_index;   // (Bp) int64: which image each prompt belongs to
  at::Tensor boxes;         // (Bp, 4) float32 x0, y0, x1, y1 in the S×S frame (jittered as configured)
  at::Tensor points;        // (Bp, P, 2) float32 in the S×S frame, or undefined when points are off
  at::Tensor point_labels;  // (Bp, P) int64: 1 inside, 0 outside; undefined when points are off
  at::Tensor masks;         // (Bp, 1, S, S) float32 0/1: the target of each prompt
  std::vector<PromptSource> sources;  // Bp entries

  std::int64_t num_images() const { return images.defined() ? images.size(0) : 0; }
  std::int64_t num_prompts() const { return boxes.defined() ? boxes.size(0) : 0; }
};

}  // namespace medsam::data

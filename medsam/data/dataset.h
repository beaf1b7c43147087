// The training view of a prepared dataset folder: one split's samples that hold at least one object
// big enough to prompt, and their decoding into the S×S frame the model sees.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "medsam/data/manifest.h"

namespace medsam::data {

class ShardReader;

// One usable sample: where it lives, and which of its objects may be prompted.
struct DatasetItem {
  std::uint32_t shard = 0;         // index into the dataset's shard list
  std::uint32_t sample = 0;        // sample index inside that shard
  std::uint32_t first_label = 0;   // range in TrainingDataset::labels_ of its eligible label ids
  std::uint16_t label_count = 0;
  std::uint16_t dataset = 0;       // manifest dataset index
  std::uint8_t modality = 0;       // Modality id
  std::uint8_t axis = 0;           // SampleRecord::axis (kAxis2dImage for a 2D image)
};

// A sample decoded to the model frame, still in its stored uint8 form: augmentation moves it as
// bytes, and augment.h's to_unit_float turns it into the model's float image in one table lookup.
struct DecodedSample {
  at::Tensor image;   // (C, S, S) uint8, C = 1 (grey) or 3 (colour; a 4th channel is dropped)
  at::Tensor labels;  // (S, S) int32 label map (nearest-neighbour resized when stored size != S)
  // What maps to 0 and 1: a slice of a volume its own minimum and maximum (the min-max of MedSAM's
  // pre_CT_MR.py after resizing); a 2D image 0 and 255 (pre_grey_rgb.py divides by 255). MedSAM's
  // train_one_gpu.py trains on those arrays as they are.
  std::uint8_t lo = 0, hi = 0;
  std::int64_t stored_height = 0, stored_width = 0;  // the shard's size, before the resize to S
};

class TrainingDataset {
 public:
  // Opens `dir/manifest.json` and every shard of `split` it lists. Objects with fewer than
  // `min_object_pixels` stored pixels are never prompts; samples left without objects are dropped.
  // Throws Error naming the folder when the split has no usable sample.
  TrainingDataset(const std::string& dir, const std::string& split, std::int64_t min_object_pixels = 0);
  ~TrainingDataset();
  TrainingDataset(const TrainingDataset&) = delete;
  TrainingDataset& operator=(const TrainingDataset&) = delete;

  std::size_t size() const { return items_.size(); }
  std::size_t object_count() const { return labels_.size(); }  // (sample, object) pairs
  const DatasetItem& item(std::size_t i) const { return items_.at(i); }
  std::vector<std::uint16_t> labels(std::size_t i) const;     // eligible label ids, sorted
  const Manifest& manifest() const { return manifest_; }
  std::string dataset_name(std::size_t i) const;
  // WebDataset key, as prep wrote it: "<dataset>/<case>/<axis><slice:04d>" or "<dataset>/<case>".
  std::string key(std::size_t i) const;

  // Decodes sample i (two PNGs, thread-safe) and brings it to the S×S frame. Throws on corrupt data.
  // ref: MedSAM train_one_gpu.py NpyDataset.__getitem__ (image already 1024²; its min-max to [0, 1]
  // is to_unit_float(AugmentParams{}, image, lo, hi))
  DecodedSample load(std::size_t i, std::int64_t image_size) const;

 private:
  std::string dir_;
  Manifest manifest_;
  std::vector<std::unique_ptr<ShardReader>> shards_;
  std::vector<DatasetItem> items_;
  std::vector<std::uint16_t> labels_;
};

}  // namespace medsam::data

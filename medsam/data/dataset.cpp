#include "medsam/data/dataset.h"

#include <ATen/ATen.h>
#include <c10/util/StringUtil.h>
#include <fmt/format.h>

#include <algorithm>

#include "medsam/core/error.h"
#include "medsam/data/open_file_limit.h"
#include "medsam/data/resize.h"
#include "medsam/data/shard_format.h"
#include "medsam/data/shard_reader.h"

namespace medsam::data {

TrainingDataset::TrainingDataset(const std::string& dir, const std::string& split, std::int64_t min_object_pixels)
    : dir_(dir), manifest_(Manifest::load(dir + "/manifest.json")) {
  std::int64_t split_shards = 0;
  for (const auto& s : manifest_.shards) split_shards += split_name(s.info.split) == split;
  reserve_open_files(split_shards, fmt::format("data {} split '{}'", dir, split));
  for (const auto& s : manifest_.shards) {
    if (split_name(s.info.split) != split) continue;
    shards_.push_back(std::make_unique<ShardReader>(dir + "/" + s.info.name));
    const auto shard = static_cast<std::uint32_t>(shards_.size() - 1);
    const auto& index = shards_.back()->index();
    for (std::size_t k = 0; k < index.samples.size(); ++k) {
      const auto& rec = index.samples[k];
      DatasetItem item;
      item.shard = shard;
      item.sample = static_cast<std::uint32_t>(k);
      item.first_label = static_cast<std::uint32_t>(labels_.size());
      item.dataset = rec.dataset;
      item.modality = rec.modality;
      item.axis = rec.axis;
      for (std::uint32_t o = 0; o < rec.object_count; ++o) {
        const auto& obj = index.objects.at(rec.first_object + o);
        if (obj.label == 0 || static_cast<std::int64_t>(obj.pixels) < min_object_pixels) continue;
        labels_.push_back(obj.label);
        ++item.label_count;
      }
      if (item.label_count > 0) items_.push_back(item);
    }
  }
  if (items_.empty()) {
    throw Error(fmt::format("data {}: split '{}' has no sample with an object of >= {} pixels ({} shards)", dir, split,
                            min_object_pixels, shards_.size()));
  }
}

TrainingDataset::~TrainingDataset() = default;

std::vector<std::uint16_t> TrainingDataset::labels(std::size_t i) const {
  const auto& it = items_.at(i);
  return {labels_.begin() + it.first_label, labels_.begin() + it.first_label + it.label_count};
}

std::string TrainingDataset::dataset_name(std::size_t i) const {
  const auto d = items_.at(i).dataset;
  return d < manifest_.datasets.size() ? manifest_.datasets[d].name : fmt::format("dataset{}", d);
}

std::string TrainingDataset::key(std::size_t i) const {
  const auto& it = items_.at(i);
  const auto& index = shards_[it.shard]->index();
  const auto& rec = index.samples[it.sample];
  const std::string base = dataset_name(i) + "/" + index.case_name(rec);
  if (rec.axis == 255) return base;
  static constexpr char kAxis[] = {'z', 'y', 'x'};
  return fmt::format("{}/{}{:04d}", base, rec.axis < 3 ? kAxis[rec.axis] : '?', rec.slice);
}

DecodedSample TrainingDataset::load(std::size_t i, std::int64_t image_size) const {
  const auto& it = items_.at(i);
  auto raw = shards_[it.shard]->read(it.sample);  // image (H, W, C) uint8, labels (H, W) int32
  if (raw.image.dim() != 3 || raw.labels.dim() != 2 || raw.image.size(0) != raw.labels.size(0) ||
      raw.image.size(1) != raw.labels.size(1)) {
    throw Error("image " + c10::str(raw.image.sizes()) + " and label map " + c10::str(raw.labels.sizes()) +
                " disagree in size");
  }
  at::Tensor image = raw.image;
  at::Tensor labels = raw.labels;
  if (image.size(0) != image_size || image.size(1) != image_size) {
    image = resize_image(image, image_size, image_size);
    labels = resize_labels(labels, image_size, image_size);
  }
  // (H, W, C) uint8 -> (C, S, S), one plane per channel; >3 channels keep the first 3, 2 keep the first.
  image = image.permute({2, 0, 1});
  image = image.slice(0, 0, image.size(0) >= 3 ? 3 : 1).contiguous();
  // ref: MedSAM utils/pre_grey_rgb.py (resize_img / 255.0), utils/pre_CT_MR.py (min-max after resize)
  DecodedSample out{image, labels.to(at::kInt).contiguous(), 0, 255, raw.image.size(0), raw.image.size(1)};
  if (it.axis == kAxis2dImage) return out;
  const auto extrema = at::aminmax(image);
  out.lo = std::get<0>(extrema).item<std::uint8_t>();
  out.hi = std::get<1>(extrema).item<std::uint8_t>();
  return out;
}

}  // namespace medsam::data

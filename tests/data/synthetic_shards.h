// Small prepared-dataset folders for the pipeline tests, written with ShardWriter + Manifest directly
// (no `medsam prep` run): each sample is a 64x64 gradient with rectangles of known labels.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "medsam/data/manifest.h"
#include "medsam/data/objects.h"
#include "medsam/data/shard_writer.h"
#include "medsam/io/image.h"

namespace medsam::test {

struct SyntheticDataset {
  std::string name;
  data::Modality modality = data::Modality::kCt;
  int samples = 10;
  std::uint8_t axis = 0;  // data::kAxis2dImage: 2D images rather than slices
};

constexpr int kSynthSize = 64;

// Labels of sample i: 1 = rows 4..19, cols (2+i%8)..(21+i%8) (320 px); 2 = rows 30..49, cols 30..44
// (300 px, only on even i); 9 = a 3x3 speck at rows 55..57, cols 55..57 (9 px).
inline at::Tensor synth_labels(int i) {
  auto labels = torch::zeros({kSynthSize, kSynthSize}, torch::kInt);
  labels.slice(0, 4, 20).slice(1, 2 + i % 8, 22 + i % 8).fill_(1);
  if (i % 2 == 0) labels.slice(0, 30, 50).slice(1, 30, 45).fill_(2);
  labels.slice(0, 55, 58).slice(1, 55, 58).fill_(9);
  return labels;
}

inline at::Tensor synth_image(int i) {
  return ((torch::arange(kSynthSize * kSynthSize).reshape({kSynthSize, kSynthSize}) * (i % 5 + 1) + 7 * i) % 200 + 20)
      .to(torch::kByte);
}

// Writes DIR/manifest.json + one train shard per dataset (keys "<name>/c<i>/z<i:04d>").
inline void write_synthetic(const std::string& dir, const std::vector<SyntheticDataset>& sets) {
  data::Manifest m;
  m.created_by = "tests";
  m.complete = true;
  m.image_size = kSynthSize;
  for (std::size_t d = 0; d < sets.size(); ++d) {
    data::ManifestDataset md;
    md.name = sets[d].name;
    md.modality = data::modality_name(sets[d].modality);
    md.labels = {{1, "one"}, {2, "two"}, {9, "speck"}};
    m.datasets.push_back(md);
    data::ShardWriter w(dir, "train-00000" + std::to_string(d), data::Split::kTrain);
    data::ManifestShard ms;
    for (int i = 0; i < sets[d].samples; ++i) {
      const auto labels = synth_labels(i);
      data::EncodedSample s;
      s.case_name = "c" + std::to_string(i);
      s.key = sets[d].name + "/" + s.case_name + "/z" + std::to_string(i);
      s.img_png = io::encode_png(synth_image(i));
      s.seg_png = io::encode_png(labels);
      s.json = "{}";
      s.objects = data::describe_objects(labels);
      s.slice = static_cast<std::uint32_t>(i);
      s.height = s.width = kSynthSize;
      s.dataset = static_cast<std::uint16_t>(d);
      s.modality = sets[d].modality;
      s.axis = sets[d].axis;
      w.add(s);
      ms.cases.push_back(sets[d].name + "/" + s.case_name);
    }
    ms.info = w.finish();
    m.shards.push_back(ms);
  }
  m.save(dir + "/manifest.json");
}

// Writes DIR/manifest.json + one train shard of the given (image, labels) pairs as dataset "custom"
// (keys "custom/c<i>/z<i:04d>"): images H x W uint8 (an int32 tensor gives a 16-bit PNG), labels H x W int32.
inline void write_samples(const std::string& dir, const std::vector<std::pair<at::Tensor, at::Tensor>>& samples) {
  data::Manifest m;
  m.created_by = "tests";
  m.complete = true;
  m.image_size = samples.at(0).first.size(0);
  data::ManifestDataset md;
  md.name = "custom";
  md.modality = data::modality_name(data::Modality::kCt);
  m.datasets.push_back(md);
  data::ShardWriter w(dir, "train-000000", data::Split::kTrain);
  data::ManifestShard ms;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto& [image, labels] = samples[i];
    data::EncodedSample s;
    s.case_name = "c" + std::to_string(i);
    s.key = "custom/" + s.case_name + "/z" + std::to_string(i);
    s.img_png = io::encode_png(image);
    s.seg_png = io::encode_png(labels);
    s.json = "{}";
    s.objects = data::describe_objects(labels);
    s.slice = static_cast<std::uint32_t>(i);
    s.height = static_cast<std::uint16_t>(image.size(0));
    s.width = static_cast<std::uint16_t>(image.size(1));
    s.modality = data::Modality::kCt;
    w.add(s);
    ms.cases.push_back("custom/" + s.case_name);
  }
  ms.info = w.finish();
  m.shards.push_back(ms);
  m.save(dir + "/manifest.json");
}

}  // namespace medsam::test

#include "medsam/eval/split_samples.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "medsam/core/error.h"
#include "medsam/data/modality.h"

namespace medsam::eval {

void check_split_name(const std::string& split) {
  if (split != "train" && split != "val" && split != "test")
    throw UsageError(fmt::format("--split '{}': use train, val or test", split));
}

SplitSamples::SplitSamples(const std::string& dir, const std::string& split, int64_t min_object_pixels,
                           int64_t max_samples) {
  check_split_name(split);
  manifest_ = data::Manifest::load(dir + "/manifest.json");
  auto full = [&] { return max_samples > 0 && static_cast<int64_t>(samples_.size()) >= max_samples; };
  for (const auto& s : manifest_.shards) {
    if (full()) break;
    if (data::split_name(s.info.split) != split) continue;
    shards_.push_back(std::make_unique<data::ShardReader>(dir + "/" + s.info.name));
    const auto& index = shards_.back()->index();
    for (std::size_t k = 0; k < index.samples.size(); ++k) {
      if (full()) break;
      const auto& rec = index.samples[k];
      SplitSample sample;
      sample.shard = shards_.size() - 1;
      sample.index = k;
      sample.dataset = rec.dataset < manifest_.datasets.size() ? manifest_.datasets[rec.dataset].name
                                                               : fmt::format("dataset{}", rec.dataset);
      sample.modality = data::modality_name(static_cast<data::Modality>(rec.modality));
      sample.case_id = index.case_name(rec);
      sample.slice = rec.slice;
      for (std::uint32_t o = 0; o < rec.object_count; ++o) {
        const auto& obj = index.objects.at(rec.first_object + o);
        if (obj.label == 0 || static_cast<int64_t>(obj.pixels) < min_object_pixels) continue;
        sample.objects.push_back({obj.label, obj.x0, obj.y0, obj.x1, obj.y1, obj.pixels});
      }
      std::sort(sample.objects.begin(), sample.objects.end(),
                [](const SplitObject& a, const SplitObject& b) { return a.label < b.label; });
      if (!sample.objects.empty()) samples_.push_back(std::move(sample));
    }
  }
  if (samples_.empty())
    throw Error(fmt::format("data {}: split '{}' has no sample with an object of >= {} pixels ({} shards)", dir, split,
                            min_object_pixels, shards_.size()));
}

SplitSamples::~SplitSamples() = default;

std::size_t SplitSamples::object_count() const {
  std::size_t n = 0;
  for (const auto& s : samples_) n += s.objects.size();
  return n;
}

data::ShardSample SplitSamples::read(std::size_t i) const {
  const auto& s = samples_.at(i);
  auto raw = shards_.at(s.shard)->read(s.index);
  if (raw.image.dim() != 3 || raw.labels.dim() != 2 || raw.image.size(0) != raw.labels.size(0) ||
      raw.image.size(1) != raw.labels.size(1))
    throw Error(fmt::format("sample {}/{} slice {}: image {} and label map {} disagree in size", s.dataset, s.case_id,
                            s.slice, fmt::join(raw.image.sizes(), "x"), fmt::join(raw.labels.sizes(), "x")));
  return raw;
}

}  // namespace medsam::eval

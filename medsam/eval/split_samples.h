// The samples of one split of a prepared dataset folder, as evaluation walks them: in manifest shard
// order, then index order, each with the objects that are big enough to score.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "medsam/data/manifest.h"
#include "medsam/data/shard_reader.h"

namespace medsam::eval {

// One scoreable object of a sample: its label id and tight box (inclusive, stored pixels) from the index.
struct SplitObject {
  int64_t label = 0;
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int64_t pixels = 0;
};

struct SplitSample {
  std::size_t shard = 0;          // into the split's reader list
  std::size_t index = 0;          // sample index inside that shard
  std::string dataset, modality, case_id;
  int64_t slice = 0;
  std::vector<SplitObject> objects;  // label order, label 0 never
};

// Throws UsageError unless `split` is train, val or test.
void check_split_name(const std::string& split);

class SplitSamples {
 public:
  // Opens `dir/manifest.json` and the shards of `split` (train | val | test; anything else is a
  // UsageError). Keeps samples holding an object of >= min_object_pixels; max_samples > 0 keeps the
  // first N of those. Throws Error naming the folder when none is left.
  SplitSamples(const std::string& dir, const std::string& split, int64_t min_object_pixels, int64_t max_samples);
  ~SplitSamples();

  std::size_t size() const { return samples_.size(); }
  std::size_t object_count() const;
  const SplitSample& sample(std::size_t i) const { return samples_.at(i); }
  // Decodes sample i as stored: image (H, W, C) uint8, labels (H, W) int32, metadata JSON.
  data::ShardSample read(std::size_t i) const;
  const data::Manifest& manifest() const { return manifest_; }

 private:
  data::Manifest manifest_;
  std::vector<std::unique_ptr<data::ShardReader>> shards_;
  std::vector<SplitSample> samples_;
};

}  // namespace medsam::eval

// manifest.json: the one file that says what a prepared dataset folder holds (format version, shards
// with checksums, datasets with label names, counts, skipped cases). A shard exists for readers only
// once the manifest lists it; prep rewrites the manifest atomically after every committed batch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "medsam/data/shard_writer.h"

namespace medsam::data {

struct ManifestShard {
  ShardInfo info;
  std::vector<std::string> cases;  // "<dataset>/<case>" with samples in this shard
};

struct ManifestDataset {
  std::string name, modality, anatomy;
  std::map<int, std::string> labels;  // label id -> name (as configured)
};

struct Count {
  std::uint64_t samples = 0, objects = 0;
};

struct Manifest {
  static constexpr int kVersion = 1;
  std::string created_by;      // "medsam <version>"
  std::string config_hash;     // of the resolved prep config; resume requires it to match
  bool complete = false;       // false while prep runs (or after an interruption)
  int image_size = 0;
  std::vector<ManifestDataset> datasets;
  std::vector<ManifestShard> shards;
  std::vector<std::string> done_cases;                        // committed, in processing order
  std::vector<std::pair<std::string, std::string>> skipped;   // case, reason
  std::uint64_t input_record_bytes = 0;  // committed length of inputs.tsv (what prep saw of each case's files)
  std::map<std::string, Count> by_split, by_modality, by_dataset;
  std::map<std::string, std::uint64_t> objects_by_label;      // "<dataset>:<id> <name>" -> objects

  std::string to_json() const;
  // Throws Error naming `source` when the JSON is malformed or of another format version.
  static Manifest from_json(const std::string& text, const std::string& source);
  static Manifest load(const std::string& path);
  void save(const std::string& path) const;  // atomic
};

}  // namespace medsam::data

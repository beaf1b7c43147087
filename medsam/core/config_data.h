// Typed configuration of the training data pipeline (the "data" section of the root config).
// Defaults are MedSAM's training rules: one object per sample, box jitter 0..20 px, no augmentation,
// no points, no re-weighting.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "medsam/core/config_visit.h"

namespace medsam::data {

// Prompts cut from the chosen object's mask.
// ref: MedSAM train_one_gpu.py NpyDataset.__getitem__ (bbox_shift, random.randint(0, bbox_shift))
struct PromptConfig {
  int bbox_shift = 20;        // each box side moves outward by an independent uniform 0..bbox_shift px
  bool points = false;        // add point prompts (SAM-style; MedSAM trains with boxes only)
  int positive_points = 1;    // sampled uniformly inside the mask
  int negative_points = 0;    // sampled uniformly outside the mask, inside the jittered box when possible

  void visit(ConfigVisitor& v);
};

// Off by default, as in MedSAM. Probabilities are per sample; ranges are symmetric.
struct AugmentConfig {
  bool enabled = false;
  double hflip = 0.5;          // probability of a left-right flip
  double vflip = 0.0;          // probability of an up-down flip
  bool rot90 = false;          // uniform k in {0,1,2,3} quarter turns
  double scale = 0.0;          // zoom factor drawn from [1 - scale, 1 + scale]
  double translate = 0.0;      // shift drawn from [-translate, translate] * S per axis
  double brightness = 0.0;     // additive shift in [-b, b] on the [0, 1] image
  double contrast = 0.0;       // multiplicative factor in [1 - c, 1 + c] about the image mean
  double gamma = 0.0;          // exponent in [1 - g, 1 + g]

  void visit(ConfigVisitor& v);
};

// Re-weighting the epoch by group (MedSAM's data is dominated by CT and MR).
// "group=ratio" -> (group, ratio): a non-empty group, the whole rest a finite decimal >= 0; nullopt
// otherwise ("mr=1abc", "mr=inf", "mr=nan", "=1").
std::optional<std::pair<std::string, double>> parse_group_ratio(const std::string& entry);

struct BalanceConfig {
  std::string by = "none";             // none | modality | dataset
  std::vector<std::string> weights;    // "group=ratio", e.g. ["ct=1", "mr=1", "us=2"]
  double default_weight = 1.0;         // ratio of groups not listed (0 leaves them out)
  long long epoch_samples = 0;         // samples drawn per epoch when balancing (0: dataset size)

  void visit(ConfigVisitor& v);
};

struct DataConfig {
  std::string shards;                  // prepared dataset folder (manifest.json + shards)
  std::string split = "train";         // train | val | test
  int image_size = 1024;               // S: images, masks and prompts are in the S×S frame
  std::string objects_per_image = "one";  // one (MedSAM: a uniform label per sample) | all
  int max_objects_per_image = 0;       // "all" mode: keep a random subset of at most this many (0: all)
  long long min_object_pixels = 0;     // objects below this size (stored pixels) are never prompts
  PromptConfig prompts;
  AugmentConfig augment;
  BalanceConfig balance;
  int batch_size = 8;                  // images per batch per rank (MedSAM: 8 per GPU)
  int num_workers = 2;                 // decoding threads
  int prefetch = 4;                    // batches decoded ahead of the trainer
  long long seed = 2023;               // MedSAM's seed
  bool shuffle = true;
  bool drop_last = true;               // drop a last partial batch (else yield it smaller)
  std::string uneven = "pad";          // ranks' shares when the epoch is not divisible: pad | drop
  bool skip_corrupt = false;           // a sample that fails to decode: error (false) or logged skip
  bool allow_incomplete = false;       // train on a folder whose `medsam prep` has not finished (else an error)
  bool pin_memory = false;             // not a YAML key: the trainer sets it when it trains on CUDA

  void visit(ConfigVisitor& v);
  // Throws ConfigError naming the key when a value is out of range.
  void validate() const;
};

}  // namespace medsam::data

// What `medsam serve` does, without HTTP: one model in memory, uploaded images encoded once and their
// embeddings kept in a store bounded in bytes (least recently used out first), prompts answered
// against a stored embedding with MedSAM's post-processing. Thread-safe: the HTTP layer calls it from
// several connections at once; the model runs one request at a time, store lookups do not wait for it.
// ref: segment_anything/predictor.py SamPredictor (set_image once, predict many times), MedSAM's
// gui.py (one embedding per image, one decoder call per drawn box).
#pragma once

#include <ATen/Tensor.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "medsam/data/normalize.h"
#include "medsam/infer/lru_by_bytes.h"
#include "medsam/infer/predictor.h"

namespace medsam::serve {

struct ServiceOptions {
  std::string checkpoint;
  std::string arch = "auto";
  std::string device = "cpu";
  std::string precision = "fp32";
  int64_t store_mib = 1024;  // image embeddings kept (ViT-B: 4 MiB each)
  int64_t max_prompts = 256;  // boxes per segment request
  int64_t max_points = 64;    // points per segment request (the decoder's attention grows with their square)
  int64_t max_image_pixels = int64_t(1) << 26;  // decoded upload height x width (64 Mi: 8192 x 8192)
  int64_t max_mask_pixels = int64_t(1) << 30;   // pixels of all masks one answer holds (boxes x masks x H x W)
};

struct ImageInfo {
  std::string id;
  int64_t height = 0, width = 0;
  bool cached = false;            // the embedding was already in the store (encoder not run)
  double encoder_seconds = 0;     // 0 when cached
  std::string intensity;          // how the raw values were mapped to 0..255, e.g. "ct window L40 W400"
};

struct SegmentRequest {
  std::string image_id;
  std::vector<std::array<double, 4>> boxes;   // x0, y0, x1, y1 in the image's pixels: one mask each
  std::vector<std::array<double, 3>> points;  // x, y, label (1 foreground, 0 background): one mask
  bool multimask = false;  // SAM's three candidates per prompt (for ambiguous clicks)
};

struct PromptMask {
  at::Tensor mask;  // H×W uint8 0/1 at the image's size
  double score = 0;  // the decoder's IoU prediction
  int64_t area = 0;  // pixels set
  // multimask: all three candidates in the decoder's order; mask/score/area above are the best-scoring one
  // (the highest IoU prediction, as SAM's demos pick).
  std::vector<PromptMask> candidates;
};

struct SegmentResult {
  int64_t height = 0, width = 0;
  std::vector<PromptMask> masks;  // one per box, or one for the points
  double decoder_seconds = 0;
};

struct StoreStats {
  int64_t images = 0, bytes = 0, capacity = 0, hits = 0, misses = 0, evictions = 0;
};

struct ServiceInfo {
  std::string checkpoint, arch, device, precision;
  int64_t img_size = 0;
  StoreStats store;
};

class SegmentService {
 public:
  // Loads the checkpoint (strictly, as `medsam infer` does). Throws Error/UsageError naming the file
  // or the bad option.
  explicit SegmentService(const ServiceOptions& options);

  // Decodes the upload (serve/upload_decode.h), maps its intensities (the rule `medsam prep` and
  // `medsam infer` share), runs the encoder unless the store already holds this id.
  ImageInfo add_image(const std::string& bytes, const std::string& content_type, const data::IntensitySpec& intensity);
  // Throws NotFoundError for an id the store does not hold (never uploaded, evicted or removed) and
  // UsageError for bad prompts (naming the box or point).
  SegmentResult segment(const SegmentRequest& request);
  // False when the store did not hold it.
  bool remove_image(const std::string& id);
  ServiceInfo info() const;
  const ServiceOptions& options() const { return options_; }

 private:
  struct StoredImage {
    at::Tensor embedding;  // (1, C, h, w) on the model's device
    int64_t height = 0, width = 0;
    std::string intensity;
  };
  using StoredPtr = std::shared_ptr<const StoredImage>;

  // Throws UsageError naming --max-image-pixels when width x height is over it.
  void check_image_pixels(int64_t width, int64_t height) const;

  ServiceOptions options_;
  std::mutex model_mutex_;  // one encoder/decoder call at a time
  std::unique_ptr<infer::Predictor> predictor_;
  mutable std::mutex store_mutex_;
  infer::LruByBytes<std::string, StoredPtr> store_;
};

// The part of an IntensitySpec that changes the pixels, as text (part of the image id).
std::string intensity_key(const data::IntensitySpec& spec);

}  // namespace medsam::serve

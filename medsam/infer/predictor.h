// The serving object: one image embedding computed once, then any number of prompts against it.
// ref: segment_anything/predictor.py SamPredictor (set_image / predict_torch), with MedSAM's
// pre/post-processing (MedSAM_Inference.py medsam_inference) instead of SAM's resize-longest-side.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "medsam/core/precision.h"
#include "medsam/model/sam.h"

namespace medsam::infer {

// Prompts in the ORIGINAL image's pixel coordinates. Either N boxes (one mask each), or one set of
// points (with at most one box), as SamPredictor combines them.
struct ImagePrompts {
  at::Tensor boxes;         // (N, 4) float x0, y0, x1, y1, or undefined
  at::Tensor points;        // (P, 2) float x, y, or undefined
  at::Tensor point_labels;  // (P) int: 1 foreground, 0 background
  at::Tensor mask_input;    // (1 or N, 1, 4h, 4w) low-res logits of an earlier prediction (one for all N
                            // prompts, or one each), or undefined
};

struct ImagePrediction {
  at::Tensor low_res_logits;  // (N, M, 4h, 4w) float32, M = 1 (or 3 with multimask), before any resize
  at::Tensor iou;             // (N, M)
  at::Tensor probabilities;   // (N, M, H, W) float32 at the original size
  at::Tensor masks;           // (N, M, H, W) uint8 0/1: probabilities > threshold
};

class Predictor {
 public:
  // Takes the model (weights loaded) and moves it to `device` in eval mode.
  Predictor(Sam model, c10::Device device, Precision precision = Precision::kFp32);

  // image: H×W or H×W×C, any dtype, original pixels. Runs the encoder once and caches the embedding.
  void set_image(const at::Tensor& image);
  // K images of one size (each H×W or H×W×C, original pixels) -> (K, C, h, w) embeddings on the
  // device, in ONE encoder call (volumes encode slices in batches). Leaves the cached embedding alone;
  // pass each row to set_embedding. Same values as K set_image calls up to fp32 reordering.
  at::Tensor encode_images(const std::vector<at::Tensor>& images);
  // Uses a stored embedding (1, C, h, w) of an image of the given original size instead of the encoder.
  void set_embedding(const at::Tensor& embedding, int64_t height, int64_t width);

  bool has_embedding() const { return embedding_.defined(); }
  const at::Tensor& embedding() const { return embedding_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  const Sam& model() const { return model_; }
  // Images the encoder has run on so far (set_image and encode_images), for reports and tests.
  int64_t images_encoded() const { return images_encoded_; }

  // Checks the prompts against the image (inside, not inverted, shapes) and throws UsageError naming
  // the offending box or point; then decodes. threshold: MedSAM's 0.5.
  ImagePrediction predict(const ImagePrompts& prompts, bool multimask_output = false, double threshold = 0.5);

 private:
  Sam model_;
  c10::Device device_;
  Precision precision_;
  at::Tensor embedding_;  // (1, C, h, w) on device_
  int64_t height_ = 0, width_ = 0;
  int64_t images_encoded_ = 0;
};

// Throws UsageError when a box lies outside the width×height image or is inverted/empty; the message
// names the box by its index and value. Used by predict() and by the 3D path.
void check_boxes(const at::Tensor& boxes, int64_t height, int64_t width);

}  // namespace medsam::infer

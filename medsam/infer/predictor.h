// The serving object: one image embedding computed once, then any number of prompts against it.
// ref: segment_anything/predictor.py SamPredictor (set_image / predict_torch), with MedSAM's
// pre/post-processing (MedSAM_Inference.py medsam_inference) instead of SAM's resize-longest-side.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
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

// The decoder's part of a prediction (on the CPU): what predict() has before the full-size resize.
struct LowResPrediction {
  at::Tensor low_res_logits;  // (N, M, 4h, 4w) float32
  at::Tensor iou;             // (N, M)
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
  // The encoder half of encode_images: inputs (K, 3, S, S) from preprocess_image (K of them concatenated)
  // -> (K, C, h, w) on the device. For callers that preprocess outside a lock around the model (serve).
  at::Tensor encode_preprocessed(const at::Tensor& inputs);
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
  // predict() without the full-size resize: the prompts checked and decoded against the current
  // embedding. to_full_size() does the rest without the model (a server resizes a request's masks while
  // the next request uses the model).
  LowResPrediction decode(const ImagePrompts& prompts, bool multimask_output = false);

  // As predict, for many boxes without holding all their full-size maps (300 boxes on a 2000x2000 image
  // are 4.8 GB of float probabilities): the boxes are decoded `chunk` at a time (0: box_chunk_size) and
  // each chunk's prediction goes to `consume(first, prediction)`, `first` the index of its first box,
  // before the next chunk is decoded. Chunks arrive in box order; a mask input with one map per box is
  // split with them. Every box (and the mask input) is checked before the first chunk, so errors name a
  // box by its index among all N. Points (which take at most one box) give one call, as predict.
  // On the CPU (fp32) the decoder takes one prompt at a time anyway, so the values are predict's exactly.
  using ChunkConsumer = std::function<void(int64_t first, const ImagePrediction& chunk)>;
  void predict_chunked(const ImagePrompts& prompts, bool multimask_output, double threshold, int64_t chunk,
                       const ChunkConsumer& consume);

 private:
  int64_t low_res_size() const;  // the decoder's mask side: 4x the embedding grid (256 for MedSAM)

  Sam model_;
  c10::Device device_;
  Precision precision_;
  at::Tensor embedding_;  // (1, C, h, w) on device_
  int64_t height_ = 0, width_ = 0;
  int64_t images_encoded_ = 0;
};

// The full-size half of Predictor::predict for an image of height x width: sigmoid, one bilinear resize
// (MedSAM's medsam_inference), threshold. Touches no model state.
ImagePrediction to_full_size(LowResPrediction low, int64_t height, int64_t width, double threshold = 0.5);

// Throws UsageError when a box lies outside the width×height image or is inverted/empty; the message
// names the box by its index and value. Used by predict() and by the 3D path.
void check_boxes(const at::Tensor& boxes, int64_t height, int64_t width);

// Boxes per decoder call for predict_chunked: as many as keep one chunk's float maps (masks_per_box of
// height x width each) under 256 MiB, at least 1 and at most 64.
int64_t box_chunk_size(int64_t height, int64_t width, int64_t masks_per_box = 1);

}  // namespace medsam::infer

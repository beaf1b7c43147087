// 3D segmentation of a volume, slice by slice: from one 3D box by propagation (LiteMedSAM / MedSAM 3D
// inference), or from a given box on each slice.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "medsam/infer/predictor.h"
#include "medsam/infer/prompt_file.h"
#include "medsam/infer/slice_embedding_cache.h"

namespace medsam::infer {

struct Box3d {
  double x0, y0, z0, x1, y1, z1;  // voxel coordinates; z0..z1 inclusive slices, x/y as 2D boxes
};

struct PropagationOptions {
  int margin = 5;            // encoder-input px (of 1024 for MedSAM) the neighbour's mask box grows by on each side
  double threshold = 0.5;
  int encode_batch = 1;      // slices per encoder call (K); the masks do not depend on it
  // .npz cases: slice embeddings kept across the case's 3D boxes (SliceEmbeddingCache), 0 = off.
  // ViT-B: 4 MiB per slice.
  int64_t embedding_cache_mib = 2048;
  // 2D: boxes per decoder call when one image has many (Predictor::predict_chunked); 0 = box_chunk_size
  // (one chunk's full-size maps under 256 MiB). The label map does not depend on it.
  int64_t box_chunk = 0;
};

using SliceProgress = std::function<void(int64_t done, int64_t total)>;

// volume (Z, Y, X) uint8 (already intensity-normalised) -> (Z, Y, X) uint8 mask, 1 inside.
// Starts at the middle slice of the box with the given 2D box, then walks up and down: each next
// slice's box is the bounding box of the neighbour's prediction grown by `margin` (clamped to the
// image); where the neighbour is empty the given box is used again. Slices outside z0..z1 stay 0.
// The encoder does not depend on the boxes, so slices are encoded `encode_batch` at a time in the
// visiting order and decoded one by one. `on_slice(done, total)` reports progress. `cache`: embeddings
// of this volume's slices from earlier calls, used and filled (several boxes of one volume). Throws
// UsageError for a box outside the volume.
at::Tensor segment_volume(Predictor& predictor, const at::Tensor& volume, const Box3d& box,
                          const PropagationOptions& options = {}, const SliceProgress& on_slice = {},
                          SliceEmbeddingCache* cache = nullptr);

// volume (Z, Y, X) uint8 + boxes on slices -> (Z, Y, X) label volume: every slice with boxes is
// encoded once (`encode_batch` slices per call) and all its boxes decoded as one batch; a pixel takes
// the label of the most probable box above the threshold (box k -> k+1, or its own label). uint8 when
// every label is < 256, else int32. Throws UsageError naming a box outside its slice or a slice
// outside the volume.
at::Tensor segment_slices(Predictor& predictor, const at::Tensor& volume, const std::vector<SliceBox>& boxes,
                          const PropagationOptions& options = {}, const SliceProgress& on_slice = {});

// The box of a (H, W) mask as MedSAM's 3D propagation takes it, in original pixels: the mask resized
// to frame² by nearest neighbour (the encoder's input, 1024 for MedSAM), its tight box with inclusive
// maxima, grown by `margin` frame pixels and clamped to the frame. Undefined when the mask is empty
// (or too thin to show at the frame's resolution).
at::Tensor mask_box(const at::Tensor& mask, int margin, int64_t frame);

}  // namespace medsam::infer

// MedSAM / CVPR 2024 challenge ("Segment Anything in Medical Images on Laptop") .npz cases:
// `imgs` (H, W), (H, W, 3) or (D, H, W) and `boxes` (N, 4) x0,y0,x1,y1 for 2D or (N, 6)
// x0,y0,z0,x1,y1,z1 for 3D; the answer is an .npz with `segs`, box k -> label k.
#pragma once

#include <ATen/Tensor.h>

#include <string>
#include <vector>

#include "medsam/infer/volume_infer.h"

namespace medsam::infer {

struct NpzCase {
  std::string path;
  at::Tensor imgs;   // as stored
  at::Tensor boxes;  // (N, 4) or (N, 6) float64
  bool is_3d = false;  // from the boxes: 6 columns
};

// Reads and checks a case: missing keys, box columns other than 4/6, and image ranks that do not fit
// the boxes throw UsageError naming the file and the key.
NpzCase read_npz_case(const std::string& path);

// `image` is the case's imgs after intensity normalisation (uint8, same shape). Returns segs:
// (H, W) for 2D, (D, H, W) for 3D, uint8 (int32 for 256+ boxes), 0 background, box k (1-based) -> k.
// Later boxes overwrite earlier ones where they overlap, as the challenge's reference inference does
// (not --box's most-probable rule, compose_label_map). 2D: the boxes are decoded options.box_chunk at a
// time (Predictor::predict_chunked), so memory holds one chunk's full-size maps.
// 3D: each box is propagated on its own (segment_volume, z0..z1 inclusive and clamped to the volume),
// the slice embeddings shared between boxes (options.embedding_cache_mib; the same masks).
// A box that cannot be segmented (inverted, outside the image, NaN or infinite values; 3D: z0/z1 not
// whole slice indices, or no slice of it in the volume) is skipped, its label left empty, and named in
// `skipped` with its values as in the file ("box 3 (400,5,420,30): ... lies outside the 64x64 image"):
// one bad box of a case costs that box, not the case's other answers. (The reference has no check: it
// would encode the box.)
// ref: CVPR24_LiteMedSAM inference_3D / MedSAM_infer_npz_2D
at::Tensor segment_npz_case(Predictor& predictor, const NpzCase& c, const at::Tensor& image,
                            const PropagationOptions& options = {}, const SliceProgress& on_slice = {},
                            std::vector<std::string>* skipped = nullptr);

}  // namespace medsam::infer

// Masks in API answers: SAM's uncompressed RLE (what its automatic mask generator writes with
// output_mode "uncompressed_rle", and what pycocotools' frPyObjects turns into COCO RLE) and
// base64-encoded PNG.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace medsam::serve {

struct Rle {
  int64_t height = 0, width = 0;
  // Run lengths over the pixels in column-major (Fortran) order, starting with a run of zeros (0 when
  // the first pixel is set). They sum to height * width.
  std::vector<int64_t> counts;
};

// mask: H×W, nonzero = inside.
// ref: segment_anything/utils/amg.py mask_to_rle_pytorch
Rle mask_to_rle(const at::Tensor& mask);
// The inverse: H×W uint8 0/1. Throws UsageError when the counts do not sum to height * width.
// ref: segment_anything/utils/amg.py rle_to_mask
at::Tensor rle_to_mask(const Rle& rle);

// H×W 0/1 mask -> base64 of an 8-bit grey PNG holding 0 and 255 (a viewable file). Needs OpenCV.
std::string mask_to_png_base64(const at::Tensor& mask);

}  // namespace medsam::serve

// The physical size of a stored shard pixel, from the sample's metadata JSON: what NSD needs in 2D.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace medsam::eval {

struct PixelSpacing {
  std::vector<double> rows_cols{1.0, 1.0};  // mm per stored pixel along rows (y) and columns (x)
  bool from_metadata = false;               // false: the sample has no spacing, 1 mm was assumed
};

// Volume slices record the source volume's ITK spacing (x, y, z), the slicing axis, the slice's
// original size and the stored size. The slice's in-plane axes are the two tensor axes (z, y, x) left
// after removing the slicing axis, and the stored image was resized from original_size to
// image_size, so each pixel spans spacing * original / stored mm. 2D images (no "spacing") get 1 mm per
// original pixel: original / stored mm per stored pixel (1 mm without original_size).
// Throws Error naming `what` when the JSON is malformed or a value is not positive.
PixelSpacing sample_pixel_spacing(const std::string& json, int64_t stored_height, int64_t stored_width,
                                  const std::string& what);

}  // namespace medsam::eval

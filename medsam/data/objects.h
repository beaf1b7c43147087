// The objects of one 2D label map: id, pixel count, tight box. Stored in the shard index so samplers
// and prompt generation never decode a mask to know what is in it.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

namespace medsam::data {

struct ObjectInfo {
  std::uint16_t label = 0;
  std::uint32_t pixels = 0;
  // Tight box, inclusive pixel coordinates: x0 <= x <= x1, y0 <= y <= y1.
  std::uint16_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// Every non-zero label of an (H, W) integer map, sorted by label id.
std::vector<ObjectInfo> describe_objects(const at::Tensor& labels);

}  // namespace medsam::data

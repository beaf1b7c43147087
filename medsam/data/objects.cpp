#include "medsam/data/objects.h"

#include <torch/torch.h>

#include <map>

#include "medsam/core/error.h"

namespace medsam::data {

std::vector<ObjectInfo> describe_objects(const at::Tensor& labels) {
  if (labels.dim() != 2) throw Error("describe_objects expects an (H, W) label map");
  auto lab = labels.to(torch::kInt).contiguous();
  const int64_t h = lab.size(0), w = lab.size(1);
  const auto* p = lab.data_ptr<std::int32_t>();
  std::map<std::int32_t, ObjectInfo> found;
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const std::int32_t v = p[y * w + x];
      if (v == 0) continue;
      if (v < 0 || v > 65535) throw Error("label ids must be 0..65535 (stored as 16-bit PNG)");
      auto [it, fresh] = found.try_emplace(v);
      auto& o = it->second;
      if (fresh) {
        o.label = static_cast<std::uint16_t>(v);
        o.x0 = o.x1 = static_cast<std::uint16_t>(x);
        o.y0 = o.y1 = static_cast<std::uint16_t>(y);
      }
      ++o.pixels;
      if (x < o.x0) o.x0 = static_cast<std::uint16_t>(x);
      if (x > o.x1) o.x1 = static_cast<std::uint16_t>(x);
      o.y1 = static_cast<std::uint16_t>(y);  // rows are visited in order
    }
  }
  std::vector<ObjectInfo> out;
  out.reserve(found.size());
  for (auto& kv : found) out.push_back(kv.second);
  return out;
}

}  // namespace medsam::data

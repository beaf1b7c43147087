#include "medsam/infer/volume_infer.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>

#include "medsam/core/error.h"

namespace medsam::infer {

at::Tensor mask_box(const at::Tensor& mask, int margin) {
  const at::Tensor nz = mask.nonzero();  // (K, 2) rows of (y, x)
  if (nz.size(0) == 0) return {};
  const int64_t h = mask.size(0), w = mask.size(1);
  const int64_t y0 = nz.select(1, 0).min().item<int64_t>(), y1 = nz.select(1, 0).max().item<int64_t>() + 1;
  const int64_t x0 = nz.select(1, 1).min().item<int64_t>(), x1 = nz.select(1, 1).max().item<int64_t>() + 1;
  return torch::tensor({double(std::max<int64_t>(0, x0 - margin)), double(std::max<int64_t>(0, y0 - margin)),
                        double(std::min<int64_t>(w, x1 + margin)), double(std::min<int64_t>(h, y1 + margin))},
                       at::kFloat)
      .unsqueeze(0);
}

// ref: LiteMedSAM inference_3D (CVPR24_LiteMedSAM infer): middle slice first, then propagate boxes
// from each predicted neighbour slice upwards and downwards.
at::Tensor segment_volume(Predictor& predictor, const at::Tensor& volume, const Box3d& box,
                          const PropagationOptions& options, const std::function<void(int64_t, int64_t)>& on_slice) {
  if (volume.dim() != 3) throw UsageError(fmt::format("volume must be (Z, Y, X), got shape {}", volume.sizes()));
  const int64_t depth = volume.size(0), height = volume.size(1), width = volume.size(2);
  const auto z0 = static_cast<int64_t>(box.z0), z1 = static_cast<int64_t>(box.z1);
  if (z0 < 0 || z1 >= depth || z0 > z1)
    throw UsageError(fmt::format("3D box slices z0={} .. z1={} must satisfy 0 <= z0 <= z1 < {} (slices in the volume)",
                                 box.z0, box.z1, depth));
  const at::Tensor given = torch::tensor({box.x0, box.y0, box.x1, box.y1}, at::kFloat).unsqueeze(0);
  check_boxes(given, height, width);

  at::Tensor out = torch::zeros({depth, height, width}, at::kByte);
  const int64_t mid = (z0 + z1) / 2, total = z1 - z0 + 1;
  int64_t done = 0;
  auto run_slice = [&](int64_t z, const at::Tensor& slice_box) {
    predictor.set_image(volume[z]);
    ImagePrompts prompts;
    prompts.boxes = slice_box;
    const auto pred = predictor.predict(prompts, false, options.threshold);
    out[z].copy_(pred.masks[0][0]);
    if (on_slice) on_slice(++done, total);
  };
  auto next_box = [&](int64_t from) {
    at::Tensor b = mask_box(out[from], options.margin);
    return b.defined() ? b : given;
  };

  run_slice(mid, given);
  for (int64_t z = mid + 1; z <= z1; ++z) run_slice(z, next_box(z - 1));
  for (int64_t z = mid - 1; z >= z0; --z) run_slice(z, next_box(z + 1));
  return out;
}

}  // namespace medsam::infer

#include "medsam/infer/npz_case.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/io/npy.h"

namespace medsam::infer {

NpzCase read_npz_case(const std::string& path) {
  NpzCase c;
  c.path = path;
  for (auto& [name, tensor] : read_npz(path, {"imgs", "boxes"})) {
    if (name == "imgs") c.imgs = tensor;
    if (name == "boxes") c.boxes = tensor;
  }
  if (!c.imgs.defined()) throw UsageError(fmt::format("{}: no 'imgs' array (MedSAM/CVPR npz cases hold imgs and boxes)", path));
  if (!c.boxes.defined())
    throw UsageError(fmt::format("{}: no 'boxes' array; give prompts in the file (N x 4 or N x 6)", path));
  if (c.boxes.dim() == 1 && (c.boxes.numel() == 4 || c.boxes.numel() == 6)) c.boxes = c.boxes.unsqueeze(0);
  if (c.boxes.dim() != 2 || (c.boxes.size(1) != 4 && c.boxes.size(1) != 6) || c.boxes.size(0) == 0)
    throw UsageError(fmt::format("{}: 'boxes' has shape {}; expected N x 4 (2D: x0,y0,x1,y1) or N x 6 "
                                 "(3D: x0,y0,z0,x1,y1,z1)",
                                 path, c.boxes.sizes()));
  c.boxes = c.boxes.to(at::kDouble);
  c.is_3d = c.boxes.size(1) == 6;
  const auto d = c.imgs.dim();
  if (c.is_3d && d != 3)
    throw UsageError(fmt::format("{}: 3D boxes need 'imgs' of shape (D, H, W), got {}", path, c.imgs.sizes()));
  if (!c.is_3d && !(d == 2 || (d == 3 && (c.imgs.size(2) == 3 || c.imgs.size(2) == 1))))
    throw UsageError(fmt::format("{}: 2D boxes need 'imgs' of shape (H, W) or (H, W, 3), got {}", path,
                                 c.imgs.sizes()));
  return c;
}

namespace {

// A 3D box of a case as medsam segments it: every value finite and z0, z1 whole slice indices, checked
// before any clamp or integer cast (int64_t of NaN or 1e30 is undefined behaviour: a NaN z once became
// "half the volume"); then z clamped to the volume. Throws UsageError saying what is wrong with it.
// ref: CVPR24_LiteMedSAM_infer.py MedSAM_infer_npz_3D: z_max = min(z_max + 1, D), z_min = max(-1, z_min - 1)
// clamp, and range() over them takes integers only (fractional z fail there with a TypeError).
Box3d checked_box3d(const double* r, int64_t depth) {
  static const char* const kNames[] = {"x0", "y0", "z0", "x1", "y1", "z1"};
  for (int i = 0; i < 6; ++i)
    if (!std::isfinite(r[i])) throw UsageError(fmt::format("{} is {}: every value must be a finite number", kNames[i], r[i]));
  if (r[2] != std::floor(r[2]) || r[5] != std::floor(r[5]))
    throw UsageError("z0 and z1 must be whole slice indices");
  if (r[2] > r[5]) throw UsageError("z0 > z1: the box is inverted");
  if (r[5] < 0 || r[2] > double(depth - 1))
    throw UsageError(fmt::format("its slices lie outside the volume's 0..{}", depth - 1));
  return Box3d{r[0], r[1], std::max(0.0, r[2]), r[3], r[4], std::min(double(depth - 1), r[5])};
}

}  // namespace

at::Tensor segment_npz_case(Predictor& predictor, const NpzCase& c, const at::Tensor& image,
                            const PropagationOptions& options, const SliceProgress& on_slice,
                            std::vector<std::string>* skipped) {
  const int64_t n = c.boxes.size(0);
  const at::ScalarType dtype = n < 256 ? at::kByte : at::kInt;
  const auto boxes = c.boxes.contiguous();
  const double* b = boxes.data_ptr<double>();
  // Named by the values in the file, not the clamped ones medsam uses.
  const auto skip = [&](int64_t k, const std::string& why) {
    const int64_t w = c.is_3d ? 6 : 4;
    const std::string line = fmt::format("box {} ({}): {}", k + 1, fmt::join(std::vector<double>(b + w * k, b + w * (k + 1)), ","), why);
    log_warn("{}: {} (skipped; its label stays empty)", c.path, line);
    if (skipped) skipped->push_back(line);
  };
  if (!c.is_3d) {
    // ref: MedSAM_infer_npz_2D: one embedding, each box decoded; segs[mask > 0] = idx
    std::vector<int64_t> good;
    for (int64_t k = 0; k < n; ++k) {
      try {
        check_boxes(boxes.slice(0, k, k + 1), image.size(0), image.size(1));
        good.push_back(k);
      } catch (const UsageError& e) {
        skip(k, e.what());
      }
    }
    at::Tensor segs = torch::zeros({image.size(0), image.size(1)}, dtype);
    if (!good.empty()) {
      predictor.set_image(image);
      ImagePrompts prompts;
      prompts.boxes = boxes.index_select(0, torch::tensor(good)).to(at::kFloat);
      // Chunks in box order, each folded in before the next: later boxes still overwrite earlier ones.
      predictor.predict_chunked(prompts, false, options.threshold, options.box_chunk,
                                [&](int64_t first, const ImagePrediction& pred) {
                                  for (int64_t i = 0; i < pred.masks.size(0); ++i)
                                    segs.masked_fill_(pred.masks[i][0] > 0, good[size_t(first + i)] + 1);
                                });
    }
    if (on_slice) on_slice(1, 1);
    return segs;
  }
  // ref: CVPR24_LiteMedSAM inference_3D: each 3D box propagated from its middle slice; segs[z][mask] = idx
  const int64_t depth = image.size(0);
  at::Tensor segs = torch::zeros(image.sizes(), dtype);
  std::vector<std::optional<Box3d>> checked(static_cast<size_t>(n));
  std::vector<std::string> problem(static_cast<size_t>(n));
  int64_t done = 0, total = 0;
  for (int64_t k = 0; k < n; ++k) {
    try {
      checked[size_t(k)] = checked_box3d(b + 6 * k, depth);
      total += int64_t(checked[size_t(k)]->z1) - int64_t(checked[size_t(k)]->z0) + 1;
    } catch (const UsageError& e) {
      problem[size_t(k)] = e.what();
    }
  }
  // Boxes of one case share slices: each slice is encoded once while the cache holds it (the
  // reference encodes every slice of every box again).
  SliceEmbeddingCache cache(options.embedding_cache_mib << 20);
  for (int64_t k = 0; k < n; ++k) {
    if (!checked[size_t(k)]) {
      skip(k, problem[size_t(k)]);
      continue;
    }
    // z0..z1 inclusive, as in the reference (it widens both ends by one before its exclusive ranges)
    // and as --box3d. ref: LiteMedSAM CVPR24_LiteMedSAM_infer.py MedSAM_infer_npz_3D
    try {
      const at::Tensor mask = segment_volume(
          predictor, image, *checked[size_t(k)], options, [&](int64_t, int64_t) { if (on_slice) on_slice(++done, total); },
          &cache);
      segs.masked_fill_(mask > 0, k + 1);
    } catch (const UsageError& e) {
      skip(k, e.what());
    }
  }
  return segs;
}

}  // namespace medsam::infer

#include "medsam/infer/volume_infer.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "medsam/core/error.h"
#include "medsam/infer/label_map.h"

namespace medsam::infer {

// ref: MedSAM extensions/seg_3dnii_sparse_marker/medsam_infer_3Dbox_adrenal.py: get_bbox(bbox_shift=5) of
// the previous slice's mask after cv2.resize to 1024² with INTER_NEAREST (frame pixel x' shows source
// pixel floor(x'·W/1024)); inclusive maxima; clamped to 0..1024; the box then used in that frame.
at::Tensor mask_box(const at::Tensor& mask, int margin, int64_t frame) {
  const at::Tensor nz = mask.nonzero();  // (K, 2) rows of (y, x)
  if (nz.size(0) == 0) return {};
  const int64_t h = mask.size(0), w = mask.size(1);
  const int64_t y0 = nz.select(1, 0).min().item<int64_t>(), y1 = nz.select(1, 0).max().item<int64_t>();
  const int64_t x0 = nz.select(1, 1).min().item<int64_t>(), x1 = nz.select(1, 1).max().item<int64_t>();
  // The first and last frame pixels whose nearest source pixel lies in [c0, c1].
  const auto first = [&](int64_t c, int64_t n) { return (c * frame + n - 1) / n; };
  const auto last = [&](int64_t c, int64_t n) { return ((c + 1) * frame + n - 1) / n - 1; };
  const int64_t fx0 = first(x0, w), fx1 = last(x1, w), fy0 = first(y0, h), fy1 = last(y1, h);
  if (fx0 > fx1 || fy0 > fy1) return {};  // thinner than a frame pixel: gone at the frame's resolution
  const double sx = double(w) / double(frame), sy = double(h) / double(frame);
  return torch::tensor({std::max<int64_t>(0, fx0 - margin) * sx, std::max<int64_t>(0, fy0 - margin) * sy,
                        std::min<int64_t>(frame, fx1 + margin) * sx, std::min<int64_t>(frame, fy1 + margin) * sy},
                       at::kFloat)
      .unsqueeze(0);
}

namespace {

void check_volume(const at::Tensor& volume) {
  if (volume.dim() != 3) throw UsageError(fmt::format("volume must be (Z, Y, X), got shape {}", volume.sizes()));
}

// Visits `slices` in order, encoding up to `batch` of them per encoder call; decode(z) runs with slice
// z's embedding set on the predictor. Slices the cache holds skip the encoder; new ones go into it.
void for_each_encoded(Predictor& predictor, const at::Tensor& volume, const std::vector<int64_t>& slices, int batch,
                      SliceEmbeddingCache* cache, const std::function<void(int64_t)>& decode) {
  const auto k = static_cast<std::size_t>(std::max(1, batch));
  const int64_t height = volume.size(1), width = volume.size(2);
  for (std::size_t start = 0; start < slices.size(); start += k) {
    const std::size_t end = std::min(slices.size(), start + k);
    std::vector<at::Tensor> embeddings(end - start);  // (1, C, h, w) each
    std::vector<at::Tensor> images;
    std::vector<std::size_t> fresh;  // positions in this window that need the encoder
    for (std::size_t i = start; i < end; ++i) {
      if (cache) embeddings[i - start] = cache->find(slices[i]);
      if (!embeddings[i - start].defined()) {
        images.push_back(volume[slices[i]]);
        fresh.push_back(i - start);
      }
    }
    if (!images.empty()) {
      const at::Tensor encoded = predictor.encode_images(images);  // (fresh, C, h, w)
      for (std::size_t j = 0; j < fresh.size(); ++j) {
        at::Tensor& e = embeddings[fresh[j]];
        e = encoded.slice(0, int64_t(j), int64_t(j + 1));
        if (cache) cache->put(slices[start + fresh[j]], e);
      }
    }
    for (std::size_t i = start; i < end; ++i) {
      predictor.set_embedding(embeddings[i - start], height, width);
      decode(slices[i]);
    }
  }
}

}  // namespace

// ref: LiteMedSAM inference_3D (CVPR24_LiteMedSAM infer): middle slice first, then propagate boxes
// from each predicted neighbour slice upwards and downwards.
at::Tensor segment_volume(Predictor& predictor, const at::Tensor& volume, const Box3d& box,
                          const PropagationOptions& options, const SliceProgress& on_slice, SliceEmbeddingCache* cache) {
  check_volume(volume);
  const int64_t depth = volume.size(0), height = volume.size(1), width = volume.size(2);
  const auto z0 = static_cast<int64_t>(box.z0), z1 = static_cast<int64_t>(box.z1);
  if (z0 < 0 || z1 >= depth || z0 > z1)
    throw UsageError(fmt::format("3D box slices z0={} .. z1={} must satisfy 0 <= z0 <= z1 < {} (slices in the volume)",
                                 box.z0, box.z1, depth));
  const at::Tensor given = torch::tensor({box.x0, box.y0, box.x1, box.y1}, at::kFloat).unsqueeze(0);
  check_boxes(given, height, width);

  at::Tensor out = torch::zeros({depth, height, width}, at::kByte);
  const int64_t mid = (z0 + z1) / 2, total = z1 - z0 + 1;
  // Visiting order: the middle slice, up to z1, then down to z0; each slice's neighbour comes before it.
  std::vector<int64_t> order;
  for (int64_t z = mid; z <= z1; ++z) order.push_back(z);
  for (int64_t z = mid - 1; z >= z0; --z) order.push_back(z);
  int64_t done = 0;
  for_each_encoded(predictor, volume, order, options.encode_batch, cache, [&](int64_t z) {
    at::Tensor slice_box = given;
    if (z != mid) {
      const at::Tensor b = mask_box(out[z > mid ? z - 1 : z + 1], options.margin,
                                    predictor.model()->image_encoder->config.img_size);
      if (b.defined()) slice_box = b;
    }
    ImagePrompts prompts;
    prompts.boxes = slice_box;
    const auto pred = predictor.predict(prompts, false, options.threshold);
    out[z].copy_(pred.masks[0][0]);
    if (on_slice) on_slice(++done, total);
  });
  return out;
}

at::Tensor segment_slices(Predictor& predictor, const at::Tensor& volume, const std::vector<SliceBox>& boxes,
                          const PropagationOptions& options, const SliceProgress& on_slice) {
  check_volume(volume);
  if (boxes.empty()) throw UsageError("no slice boxes given");
  const int64_t depth = volume.size(0), height = volume.size(1), width = volume.size(2);
  // slice -> (boxes, labels) in file order; numbering follows the file order across slices.
  std::map<int64_t, std::pair<std::vector<float>, std::vector<int64_t>>> by_slice;
  int64_t max_label = 0;
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    const auto& b = boxes[i];
    if (b.slice < 0 || b.slice >= depth)
      throw UsageError(fmt::format("slice box {} is on slice {}, outside the volume's 0..{}", i + 1, b.slice, depth - 1));
    const at::Tensor one = torch::tensor({b.x0, b.y0, b.x1, b.y1}, at::kFloat).unsqueeze(0);
    try {
      check_boxes(one, height, width);
    } catch (const UsageError& e) {
      throw UsageError(fmt::format("slice box {} (slice {}): {}", i + 1, b.slice, e.what()));
    }
    auto& entry = by_slice[b.slice];
    entry.first.insert(entry.first.end(), {float(b.x0), float(b.y0), float(b.x1), float(b.y1)});
    const int64_t label = b.label > 0 ? b.label : int64_t(i + 1);
    entry.second.push_back(label);
    max_label = std::max(max_label, label);
  }
  at::Tensor out = torch::zeros({depth, height, width}, max_label < 256 ? at::kByte : at::kInt);
  std::vector<int64_t> slices;
  for (const auto& kv : by_slice) slices.push_back(kv.first);
  int64_t done = 0;
  const auto total = static_cast<int64_t>(slices.size());
  for_each_encoded(predictor, volume, slices, options.encode_batch, nullptr, [&](int64_t z) {
    const auto& [coords, labels] = by_slice.at(z);
    ImagePrompts prompts;
    prompts.boxes = torch::tensor(coords, at::kFloat).view({-1, 4});
    const auto pred = predictor.predict(prompts, false, options.threshold);
    const at::Tensor index_map = compose_label_map(pred.probabilities.select(1, 0), options.threshold);
    out[z].copy_(relabel_prompts(index_map, torch::tensor(labels, at::kLong)));
    if (on_slice) on_slice(++done, total);
  });
  return out;
}

}  // namespace medsam::infer

#include "medsam/data/batch_builder.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/data/augment.h"
#include "medsam/data/batch_memory.h"
#include "medsam/data/dataset.h"
#include "medsam/data/sample_rng.h"

namespace medsam::data {

namespace {
// A valid sample with nothing left to prompt at the training size: skipped whatever skip_corrupt says.
struct ObjectsLostToResize : Error {
  using Error::Error;
};

// The (S, S) bool mask of one label id and whether it has any pixel, in one pass over the label map.
at::Tensor label_mask(const at::Tensor& labels, std::int32_t label, bool& any) {
  const auto src = labels.contiguous();
  auto mask = at::empty(src.sizes(), src.options().dtype(at::kBool));
  const auto* in = src.data_ptr<std::int32_t>();
  auto* out = mask.data_ptr<bool>();
  const auto n = labels.numel();
  std::int64_t hits = 0;
  for (std::int64_t i = 0; i < n; ++i) hits += (out[i] = in[i] == label);
  any = hits > 0;
  return mask;
}
}  // namespace

struct BatchBuilder::Part {
  std::vector<at::Tensor> images;   // (C, S, S) uint8, augmented geometry
  std::vector<UnitTable> tables;    // each image's normalisation + intensity jitter
  std::vector<at::Tensor> masks;    // (S, S) bool
  std::vector<std::int64_t> image_index;
  std::vector<float> boxes, points;
  std::vector<std::int64_t> point_labels;
  std::vector<PromptSource> sources;
};

BatchBuilder::BatchBuilder(const TrainingDataset& dataset, const DataConfig& config)
    : dataset_(dataset), config_(config), prompts_(config.prompts) {}

// ref: MedSAM train_one_gpu.py NpyDataset.__getitem__ (one label uniformly, mask of it, jittered box)
void BatchBuilder::add_sample(const SampleRef& ref, std::int64_t epoch, std::int64_t image_slot, Part& part) const {
  const auto i = static_cast<std::size_t>(ref.item);
  const std::int64_t S = config_.image_size;
  SampleRng rng{static_cast<std::uint64_t>(config_.seed), static_cast<std::uint64_t>(epoch),
                static_cast<std::uint64_t>(ref.position)};
  const auto decoded = dataset_.load(i, S);
  auto params = draw_augment(config_.augment, S, rng);
  auto candidates = dataset_.labels(i);
  const bool all = config_.objects_per_image == "all";
  if (all && config_.max_objects_per_image > 0 &&
      candidates.size() > static_cast<std::size_t>(config_.max_objects_per_image)) {
    for (std::size_t k = 0; k < static_cast<std::size_t>(config_.max_objects_per_image); ++k) {
      std::swap(candidates[k], candidates[k + rng.below(candidates.size() - k)]);
    }
    candidates.resize(static_cast<std::size_t>(config_.max_objects_per_image));
    std::sort(candidates.begin(), candidates.end());
  }

  for (int attempt = 0; attempt < 2; ++attempt) {
    at::Tensor image = decoded.image, labels = decoded.labels;
    if (attempt == 1) params.scale = 1.0, params.shift_x = 0.0, params.shift_y = 0.0;  // zoom lost them all
    apply_geometry(params, image, labels, decoded.lo);  // outside the frame: lo, which normalises to 0
    // Targets: the chosen label ("one"), or every candidate ("all"); a label the zoom/shift or the
    // resize removed is not a target (in "one" mode another is chosen uniformly among the rest).
    std::vector<std::pair<std::uint16_t, at::Tensor>> targets;
    auto left = candidates;
    while (!left.empty() && (all || targets.empty())) {
      const auto label = all ? left.front() : choose_label(left, rng);
      left.erase(std::find(left.begin(), left.end(), label));
      bool present = false;
      auto mask = label_mask(labels, label, present);
      if (present) targets.emplace_back(label, mask);
    }
    if (targets.empty()) {
      if (params.lossy_geometry()) continue;
      // Not the augmentation (undone above): the nearest-neighbour resize from the stored size dropped
      // every candidate (a 1-3 pixel wide object at 1024 is gone at 256).
      throw ObjectsLostToResize(fmt::format(
          "its {} object(s) ({} px and up) vanish when the {}x{} label map is resized to data.image_size {}: the "
          "sample is left out (train at the stored size, or raise data.min_object_pixels, to keep or drop such "
          "objects knowingly)",
          candidates.size(), config_.min_object_pixels, decoded.stored_width, decoded.stored_height, S));
    }
    part.tables.push_back(unit_table(params, image, decoded.lo, decoded.hi));
    part.images.push_back(image);
    for (auto& [label, mask] : targets) {
      const auto p = prompts_.sample(mask, rng);
      part.masks.push_back(mask);
      part.image_index.push_back(image_slot);
      part.boxes.insert(part.boxes.end(), p.box.begin(), p.box.end());
      for (const auto& xy : p.points) part.points.insert(part.points.end(), xy.begin(), xy.end());
      part.point_labels.insert(part.point_labels.end(), p.point_labels.begin(), p.point_labels.end());
      part.sources.push_back({dataset_.key(i), dataset_.dataset_name(i), dataset_.item(i).modality, label});
    }
    return;
  }
}

Batch BatchBuilder::build(const std::vector<SampleRef>& refs, std::int64_t epoch, std::int64_t* skipped) const {
  Part part;
  for (const auto& ref : refs) {
    const auto images_before = part.images.size();
    try {
      add_sample(ref, epoch, static_cast<std::int64_t>(images_before), part);
    } catch (const ObjectsLostToResize& e) {
      bool first = false;
      {
        std::lock_guard<std::mutex> lock(warned_mu_);
        first = warned_lost_.insert(ref.item).second;
      }
      if (first) log_rank_warn("data: skipping sample {} (every epoch): {}", dataset_.key(static_cast<std::size_t>(ref.item)), e.what());
      if (skipped) ++*skipped;
    } catch (const std::exception& e) {
      const auto key = dataset_.key(static_cast<std::size_t>(ref.item));
      if (!config_.skip_corrupt) {
        throw Error(fmt::format("data {}: sample {} (epoch {}, position {}): {}", config_.shards, key, epoch,
                                ref.position, e.what()));
      }
      log_rank_warn("data: skipping sample {}: {}", key, e.what());
      if (skipped) ++*skipped;
    }
  }
  Batch b;
  if (part.images.empty()) return b;
  const auto bp = static_cast<std::int64_t>(part.masks.size());
  // Written straight into the batch (no per-sample float copies, no stack), in recycled or pinned memory.
  const std::int64_t S = config_.image_size, plane = S * S;
  const auto bi = static_cast<std::int64_t>(part.images.size());
  b.images = empty_batch_tensor({bi, 3, S, S}, at::kFloat, config_.pin_memory);
  for (std::int64_t k = 0; k < bi; ++k) {
    write_unit_float(part.tables[k], part.images[k], b.images.data_ptr<float>() + k * 3 * plane);
  }
  b.masks = empty_batch_tensor({bp, 1, S, S}, at::kFloat, config_.pin_memory);
  for (std::int64_t k = 0; k < bp; ++k) {
    const bool* in = part.masks[k].data_ptr<bool>();
    float* out = b.masks.data_ptr<float>() + k * plane;
    for (std::int64_t i = 0; i < plane; ++i) out[i] = in[i] ? 1.f : 0.f;
  }
  b.image_index = at::tensor(part.image_index, at::kLong);
  b.boxes = at::tensor(part.boxes, at::kFloat).reshape({bp, 4});
  const int P = prompts_.points_per_prompt();
  if (P > 0) {
    b.points = at::tensor(part.points, at::kFloat).reshape({bp, P, 2});
    b.point_labels = at::tensor(part.point_labels, at::kLong).reshape({bp, P});
  }
  b.sources = std::move(part.sources);
  return b;
}

}  // namespace medsam::data

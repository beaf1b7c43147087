#include "data_prep/prep_config.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "data_prep/labels.h"
#include "medsam/core/config.h"
#include "medsam/core/config_visit.h"
#include "medsam/core/error.h"
#include "medsam/data/intensity.h"
#include "medsam/data/modality.h"

namespace medsam::prep {

void DatasetSection::visit(ConfigVisitor& v) {
  v.field("name", name);
  v.field("kind", kind);
  v.field("modality", modality);
  v.field("anatomy", anatomy);
  v.field("images", images);
  v.field("labels", labels);
  v.field("image_suffix", image_suffix);
  v.field("label_suffix", label_suffix);
  v.field("label_names_file", label_names_file);
  v.field("label_names", label_names);
  v.field("keep_labels", keep_labels);
  v.field("drop_labels", drop_labels);
  v.field("merge_labels", merge_labels);
  v.field("binary_masks", binary_masks);
  v.field("instance_labels", instance_labels);
}

void IntensitySection::visit(ConfigVisitor& v) {
  v.field("mode", mode);
  v.field("window", window);
  v.field("level", level);
  v.field("width", width);
  v.field("percentile_low", percentile_low);
  v.field("percentile_high", percentile_high);
}

void CleanupSection::visit(ConfigVisitor& v) {
  v.field("min_component_3d", min_component_3d);
  v.field("min_component_2d", min_component_2d);
}

void SlicingSection::visit(ConfigVisitor& v) { v.field("axis", axis); }

void OutputSection::visit(ConfigVisitor& v) {
  v.field("image_size", image_size);
  v.field("shard_bytes", shard_bytes);
  v.field("png_compression", png_compression);
}

void SplitSection::visit(ConfigVisitor& v) {
  v.field("mode", mode);
  v.field("fractions", fractions);
  v.field("block", block);
  v.field("gap", gap);
}

void PrepConfig::visit(ConfigVisitor& v) {
  v.sub("dataset", dataset);
  v.sub("intensity", intensity);
  v.sub("cleanup", cleanup);
  v.sub("slicing", slicing);
  v.sub("output", output);
  v.sub("split", split);
}

void PrepConfig::validate(const std::string& source, const ConfigOrigins* origins) const {
  auto bad = [&](const std::string& key, const std::string& what) {
    const auto set_at = origins ? origins->find(key) : ConfigOrigins::const_iterator{};
    return ConfigError(fmt::format("{}: {}: {}", origins && set_at != origins->end() ? set_at->second : source, key, what));
  };
  if (dataset.name.empty()) throw bad("dataset.name", "is required");
  for (char c : dataset.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
      throw bad("dataset.name", fmt::format("'{}' may hold only letters, digits, '_' and '-'", dataset.name));
  if (dataset.kind != "volume" && dataset.kind != "images_2d" && dataset.kind != "npy" && dataset.kind != "npz")
    throw bad("dataset.kind", fmt::format("'{}' is not volume, images_2d, npy or npz", dataset.kind));
  try {
    data::parse_modality(dataset.modality);
  } catch (const UsageError& e) {
    throw bad("dataset.modality", e.what());
  }
  try {
    parse_label_merges(dataset.merge_labels);
  } catch (const UsageError& e) {
    throw bad("dataset.merge_labels", e.what());
  }
  for (int id : dataset.instance_labels)
    if (id <= 0) throw bad("dataset.instance_labels", fmt::format("{}: label ids are positive", id));
  if (dataset.images.empty()) throw bad("dataset.images", "is required (a file, folder or glob)");
  if (dataset.labels.empty() && dataset.kind != "npz")
    throw bad("dataset.labels", "is required (a file, folder or glob)");
  const auto& m = intensity.mode;
  if (m != "auto" && m != "window" && m != "percentile" && m != "none")
    throw bad("intensity.mode", fmt::format("'{}' is not auto, window, percentile or none", m));
  if (intensity.window != "custom") {
    try {
      data::ct_window_preset(intensity.window);
    } catch (const UsageError& e) {
      throw bad("intensity.window", e.what());
    }
  } else if (!(intensity.width > 0)) {
    throw bad("intensity.width", fmt::format("must be > 0, got {}", intensity.width));
  }
  // Settings the intensity rule would not read: refused rather than ignored (medsam infer refuses the same).
  const IntensitySection defaults;
  if (intensity.window != "custom" && (intensity.level != defaults.level || intensity.width != defaults.width))
    throw bad("intensity.level/width", fmt::format("are read only with intensity.window: custom (window is '{}')",
                                                   intensity.window));
  bool ct = false;
  try {
    ct = data::is_ct(data::parse_modality(dataset.modality));
  } catch (const UsageError&) {  // an unknown modality is reported where it is parsed
  }
  if (!ct && m != "window" && (intensity.window != defaults.window || intensity.window == "custom"))
    throw bad("intensity.window", fmt::format("'{}' is read only for CT or with intensity.mode: window (modality {}, "
                                              "mode {})",
                                              intensity.window, dataset.modality, m));
  if (!(intensity.percentile_low >= 0 && intensity.percentile_low < intensity.percentile_high &&
        intensity.percentile_high <= 100))
    throw bad("intensity.percentile_low/high", "need 0 <= low < high <= 100");
  if (cleanup.min_component_3d < 0 || cleanup.min_component_2d < 0)
    throw bad("cleanup", "component sizes must be >= 0");
  if (slicing.axis != "z" && slicing.axis != "y" && slicing.axis != "x")
    throw bad("slicing.axis", fmt::format("'{}' is not z, y or x", slicing.axis));
  if (output.image_size < 16 || output.image_size > 8192)
    throw bad("output.image_size", fmt::format("{} is outside 16..8192", output.image_size));
  if (output.shard_bytes < 1) throw bad("output.shard_bytes", "must be positive");
  if (output.png_compression < 0 || output.png_compression > 9) throw bad("output.png_compression", "must be 0..9");
  if (split.mode != "case" && split.mode != "slice" && split.mode != "none")
    throw bad("split.mode", fmt::format("'{}' is not case, slice or none", split.mode));
  if (split.fractions.size() != 3) throw bad("split.fractions", "needs three numbers: train, val, test");
  double sum = 0;
  for (double f : split.fractions) {
    if (f < 0) throw bad("split.fractions", "must be >= 0");
    sum += f;
  }
  if (std::abs(sum - 1.0) > 1e-6) throw bad("split.fractions", fmt::format("must sum to 1, got {}", sum));
  if (split.block < 1) throw bad("split.block", "must be >= 1");
  if (split.gap < 0 || split.gap >= split.block) throw bad("split.gap", "must be 0 <= gap < block");
}

data::IntensitySpec PrepConfig::intensity_spec() const {
  data::IntensitySpec s;
  s.mode = intensity.mode;
  s.modality = dataset.modality;
  s.percentile_low = intensity.percentile_low;
  s.percentile_high = intensity.percentile_high;
  if (data::is_ct(data::parse_modality(dataset.modality)) || intensity.mode == "window")
    s.window = intensity.window == "custom" ? fmt::format("{},{}", intensity.level, intensity.width) : intensity.window;
  return s;
}

std::string PrepConfig::resolve(const std::string& path) const {
  if (path.empty() || path.front() == '/' || source_dir.empty()) return path;
  return (std::filesystem::path(source_dir) / path).lexically_normal().string();
}

PrepConfig load_prep_config(const std::string& path, const std::vector<std::string>& overrides) {
  PrepConfig c;
  ConfigOrigins origins;
  load_yaml_file(path, visit_root(c), &origins);
  for (const auto& o : overrides) apply_yaml_override(o, visit_root(c), &origins);
  const bool volume = c.dataset.kind == "volume";
  if (c.cleanup.min_component_3d == -1) c.cleanup.min_component_3d = volume ? 1000 : 0;
  if (c.cleanup.min_component_2d == -1) c.cleanup.min_component_2d = volume ? 100 : 0;
  c.source_dir = std::filesystem::absolute(path).parent_path().string();
  c.validate(path, &origins);
  return c;
}

std::string prep_config_yaml(PrepConfig& config) { return to_yaml(visit_root(config)); }

}  // namespace medsam::prep

#include "medsam/core/config_data.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <vector>

#include "medsam/core/error.h"

namespace medsam::data {

void PromptConfig::visit(ConfigVisitor& v) {
  v.field("bbox_shift", bbox_shift);
  v.field("points", points);
  v.field("positive_points", positive_points);
  v.field("negative_points", negative_points);
}

void AugmentConfig::visit(ConfigVisitor& v) {
  v.field("enabled", enabled);
  v.field("hflip", hflip);
  v.field("vflip", vflip);
  v.field("rot90", rot90);
  v.field("scale", scale);
  v.field("translate", translate);
  v.field("brightness", brightness);
  v.field("contrast", contrast);
  v.field("gamma", gamma);
}

void BalanceConfig::visit(ConfigVisitor& v) {
  v.field("by", by);
  v.field("weights", weights);
  v.field("default_weight", default_weight);
  v.field("epoch_samples", epoch_samples);
}

void DataConfig::visit(ConfigVisitor& v) {
  v.field("shards", shards);
  v.field("split", split);
  v.field("image_size", image_size);
  v.field("objects_per_image", objects_per_image);
  v.field("max_objects_per_image", max_objects_per_image);
  v.field("min_object_pixels", min_object_pixels);
  v.sub("prompts", prompts);
  v.sub("augment", augment);
  v.sub("balance", balance);
  v.field("batch_size", batch_size);
  v.field("num_workers", num_workers);
  v.field("prefetch", prefetch);
  v.field("seed", seed);
  v.field("shuffle", shuffle);
  v.field("drop_last", drop_last);
  v.field("uneven", uneven);
  v.field("skip_corrupt", skip_corrupt);
  v.field("allow_incomplete", allow_incomplete);
}

namespace {
// The key is given without "data." (as the fields are named here); messages and keys get it added.
void require(bool ok, std::initializer_list<const char*> keys, const std::string& what) {
  if (ok) return;
  std::vector<std::string> dotted;
  for (const char* k : keys) dotted.push_back(std::string("data.") + k);
  throw ConfigValueError(dotted, fmt::format("config: data.{} {}", *keys.begin(), what));
}
bool unit(double p) { return p >= 0.0 && p <= 1.0; }
}  // namespace

std::optional<std::pair<std::string, double>> parse_group_ratio(const std::string& entry) {
  const auto eq = entry.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size()) return std::nullopt;
  const std::string number = entry.substr(eq + 1);
  char* end = nullptr;
  const double r = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(r) || r < 0) return std::nullopt;
  return std::make_pair(entry.substr(0, eq), r);
}

void DataConfig::validate() const {
  require(split == "train" || split == "val" || split == "test", {"split"}, "must be train, val or test, got '" + split + "'");
  require(image_size >= 8, {"image_size"}, fmt::format("must be >= 8, got {}", image_size));
  require(objects_per_image == "one" || objects_per_image == "all", {"objects_per_image"},
          "must be one or all, got '" + objects_per_image + "'");
  require(max_objects_per_image >= 0, {"max_objects_per_image"}, "must be >= 0");
  require(min_object_pixels >= 0, {"min_object_pixels"}, "must be >= 0");
  require(prompts.bbox_shift >= 0, {"prompts.bbox_shift"}, fmt::format("must be >= 0, got {}", prompts.bbox_shift));
  require(prompts.positive_points >= 0 && prompts.negative_points >= 0,
          {"prompts.positive_points", "prompts.negative_points"}, "and negative_points must be >= 0");
  require(!prompts.points || prompts.positive_points + prompts.negative_points > 0,
          {"prompts.points", "prompts.positive_points", "prompts.negative_points"},
          "is on but positive_points + negative_points is 0");
  require(unit(augment.hflip) && unit(augment.vflip), {"augment.hflip", "augment.vflip"},
          "and vflip must be probabilities in [0, 1]");
  require(augment.scale >= 0 && augment.scale < 1, {"augment.scale"}, "must be in [0, 1)");
  require(augment.translate >= 0 && augment.translate < 0.5, {"augment.translate"}, "must be in [0, 0.5)");
  require(augment.brightness >= 0 && augment.contrast >= 0 && augment.contrast < 1 && augment.gamma >= 0 &&
              augment.gamma < 1,
          {"augment", "augment.brightness", "augment.contrast", "augment.gamma"},
          "intensity ranges must be >= 0 (contrast and gamma < 1)");
  require(balance.by == "none" || balance.by == "modality" || balance.by == "dataset", {"balance.by"},
          "must be none, modality or dataset, got '" + balance.by + "'");
  require(balance.default_weight >= 0, {"balance.default_weight"}, "must be >= 0");
  for (const auto& entry : balance.weights)
    require(parse_group_ratio(entry).has_value(), {"balance.weights"},
            "entry '" + entry + "' is not group=ratio (a finite number >= 0)");
  require(balance.epoch_samples >= 0, {"balance.epoch_samples"}, "must be >= 0");
  require(batch_size >= 1, {"batch_size"}, "must be >= 1");
  require(num_workers >= 0, {"num_workers"}, "must be >= 0 (0 decodes on the calling thread)");
  require(prefetch >= 1, {"prefetch"}, "must be >= 1");
  require(uneven == "pad" || uneven == "drop", {"uneven"}, "must be pad or drop, got '" + uneven + "'");
}

}  // namespace medsam::data

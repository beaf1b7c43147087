#include "medsam/core/config_unused.h"

#include <algorithm>

#include <fmt/format.h>

namespace medsam {

namespace {

// The keys of `section` whose values differ from a default-constructed one, as "key" -> "value" pairs
// (lists as "[a, b]"), found through the YAML both write.
template <class Section>
std::vector<std::pair<std::string, std::string>> changed_keys(Section given) {
  Section defaults;
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& line : config_differences(to_yaml(visit_root(defaults)), to_yaml(visit_root(given)))) {
    // "key: before -> after"
    const auto colon = line.find(": "), arrow = line.rfind(" -> ");
    if (colon == std::string::npos || arrow == std::string::npos) continue;
    out.emplace_back(line.substr(0, colon), line.substr(arrow + 4));
  }
  return out;
}

template <class Section>
void add_unused(std::vector<std::string>& out, const Section& given, const std::string& prefix,
                const std::vector<std::string>& keys, const std::string& because) {
  for (const auto& [key, value] : changed_keys(given)) {
    if (!keys.empty() && std::find(keys.begin(), keys.end(), key) == keys.end()) continue;
    out.push_back(fmt::format("{}.{} is {} but has no effect: {}", prefix, key, value, because));
  }
}

}  // namespace

std::vector<std::string> unused_settings(const Config& config) {
  std::vector<std::string> out;
  const auto& d = config.data;
  const auto& t = config.train;
  if (!d.augment.enabled) add_unused(out, d.augment, "data.augment", {}, "data.augment.enabled is false");
  if (d.balance.by == "none")
    add_unused(out, d.balance, "data.balance", {"weights", "default_weight", "epoch_samples"}, "data.balance.by is none");
  if (!d.prompts.points)
    add_unused(out, d.prompts, "data.prompts", {"positive_points", "negative_points"}, "data.prompts.points is false");
  if (d.objects_per_image == "one")
    add_unused(out, d, "data", {"max_objects_per_image"}, "data.objects_per_image is one");
  if (t.schedule.name == "constant")
    add_unused(out, t.schedule, "train.schedule", {"min_lr_ratio", "total_steps"}, "train.schedule.name is constant");
  if (t.validation.every_steps == 0)
    add_unused(out, t.validation, "train.validation", {}, "train.validation.every_steps is 0 (validation is off)");
  if (t.source == "shards")
    add_unused(out, t, "train", {"synthetic_batch_size", "synthetic_epoch_steps"}, "train.source is shards");
  return out;
}

}  // namespace medsam

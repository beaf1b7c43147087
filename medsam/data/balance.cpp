#include "medsam/data/balance.h"

#include <fmt/format.h>

#include <map>

#include "medsam/core/error.h"
#include "medsam/data/dataset.h"
#include "medsam/data/modality.h"

namespace medsam::data {

std::vector<double> group_weights(const TrainingDataset& dataset, const BalanceConfig& config) {
  if (config.by == "none") return {};
  const bool by_modality = config.by == "modality";
  if (!by_modality && config.by != "dataset") {
    throw ConfigError(fmt::format("config: data.balance.by must be none, modality or dataset, got '{}'", config.by));
  }
  auto group_of = [&](std::size_t i) {
    return by_modality ? std::string(modality_name(static_cast<Modality>(dataset.item(i).modality)))
                       : dataset.dataset_name(i);
  };
  std::map<std::string, double> ratio;
  for (const auto& entry : config.weights) {
    const auto parsed = parse_group_ratio(entry);
    if (!parsed)
      throw ConfigError(fmt::format("config: data.balance.weights entry '{}' is not group=ratio (a finite number >= 0)", entry));
    auto [name, r] = *parsed;
    if (by_modality) name = modality_name(parse_modality(name));  // canonical spelling ("MRI" -> "mr")
    ratio[name] = r;
  }
  std::map<std::string, std::size_t> count;
  for (std::size_t i = 0; i < dataset.size(); ++i) ++count[group_of(i)];
  for (const auto& [name, r] : ratio) {
    if (by_modality) continue;  // a known modality absent from this split simply gets no samples
    if (!count.count(name)) {
      std::string known;
      for (const auto& [g, n] : count) known += (known.empty() ? "" : ", ") + g;
      throw ConfigError(fmt::format("config: data.balance.weights names dataset '{}', not in this split ({})", name, known));
    }
  }
  std::vector<double> w(dataset.size());
  double total = 0;
  for (std::size_t i = 0; i < dataset.size(); ++i) {
    const auto g = group_of(i);
    const auto it = ratio.find(g);
    const double r = it == ratio.end() ? config.default_weight : it->second;
    w[i] = r / static_cast<double>(count[g]);
    total += w[i];
  }
  if (!(total > 0)) throw ConfigError("config: data.balance.weights give every sample of this split weight 0");
  return w;
}

}  // namespace medsam::data

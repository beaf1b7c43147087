#include "data_prep/labels.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "data_prep/prep_config.h"
#include "medsam/data/components.h"
#include "medsam/core/error.h"

namespace medsam::prep {
namespace {

std::pair<int, std::string> split_pair(const std::string& entry, const char* key) {
  const auto colon = entry.find(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no colon");
    return {std::stoi(entry.substr(0, colon)), entry.substr(colon + 1)};
  } catch (const std::exception&) {
    throw UsageError(fmt::format("dataset.{}: entry '{}' is not 'id:value'", key, entry));
  }
}

// A label value as people write it: 4294967297, not 4.294967297e+09; 0.5 as it is.
std::string value_text(double v) {
  if (std::nearbyint(v) == v && std::abs(v) < 9.0e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

}  // namespace

std::map<int, std::string> load_label_names(const DatasetSection& d, const std::string& resolved_file) {
  std::map<int, std::string> names;
  if (!resolved_file.empty()) {
    std::ifstream in(resolved_file);
    if (!in) throw Error(fmt::format("{}: cannot open label names file (dataset.label_names_file)", resolved_file));
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      const auto hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      std::istringstream ls(line);
      int id;
      std::string name;
      if (!(ls >> id)) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        throw Error(fmt::format("{}:{}: expected '<id> <name>'", resolved_file, lineno));
      }
      // ITK-SNAP's label description files: `1 255 0 0 1 1 1 "Liver"` (id, RGB, alpha, visibility, mesh,
      // then the quoted label); mricron's: `1 Precentral_L ...`. A quoted name is the name, spaces included.
      const auto open = line.find('"');
      const auto close = open == std::string::npos ? std::string::npos : line.find('"', open + 1);
      if (open != std::string::npos) {
        if (close == std::string::npos)
          throw Error(fmt::format("{}:{}: a label name's closing '\"' is missing", resolved_file, lineno));
        name = line.substr(open + 1, close - open - 1);
      } else {
        ls >> name;
      }
      names[id] = name;
    }
  }
  for (const auto& e : d.label_names) {
    auto [id, name] = split_pair(e, "label_names");
    names[id] = name;
  }
  return names;
}

std::map<int, int> parse_label_merges(const std::vector<std::string>& entries) {
  // A whole integer or nothing: std::stoi alone would read "3x" as 3.
  const auto integer = [](const std::string& text, int& value) {
    size_t used = 0;
    try {
      value = std::stoi(text, &used);
    } catch (const std::exception&) {
      return false;
    }
    return used == text.size();
  };
  std::map<int, int> merges;
  for (const auto& e : entries) {
    const auto colon = e.find(':');
    int from = 0, to = 0;
    if (colon == std::string::npos || !integer(e.substr(0, colon), from) || !integer(e.substr(colon + 1), to))
      throw UsageError(fmt::format("entry '{}' is not 'from:to' with two label ids", e));
    if (!merges.emplace(from, to).second)
      throw UsageError(fmt::format("entry '{}' maps label {} a second time", e, from));
  }
  return merges;
}

void map_labels(at::Tensor& labels, const DatasetSection& d) {
  // One mask per entry from the labels as they came, so that 1:2 and 2:3 do not chain 1 into 3.
  const at::Tensor original = labels.clone();
  for (const auto& [from, to] : parse_label_merges(d.merge_labels)) labels.masked_fill_(original == from, to);
  if (!d.keep_labels.empty()) {
    auto keep = torch::zeros(labels.sizes(), torch::kBool);
    for (int id : d.keep_labels) keep |= labels == id;
    labels.masked_fill_(keep.logical_not(), 0);
  }
  for (int id : d.drop_labels) labels.masked_fill_(labels == id, 0);
  for (int id : d.instance_labels) {
    const at::Tensor mine = labels == id;
    if (!mine.any().item<bool>()) continue;
    const int64_t others_max = labels.masked_fill(mine, 0).max().item<int64_t>();
    data::label_instances(labels, id, others_max + 2);
  }
}

at::Tensor to_label_ids(const at::Tensor& raw, const std::string& path, std::int64_t non_finite_in_file) {
  if (raw.numel() == 0) return raw.to(torch::kInt).contiguous();
  if (at::isFloatingType(raw.scalar_type())) {
    const auto non_finite = torch::isfinite(raw).logical_not().sum().item<int64_t>() + non_finite_in_file;
    if (non_finite > 0)
      throw Error(fmt::format("{}: {} of {} label values are NaN or infinite; labels must be integer ids", path,
                              non_finite, raw.numel()));
    const auto fraction = raw != raw.round();
    if (fraction.any().item<bool>())
      throw Error(fmt::format("{}: label values are not integers (e.g. {}); labels must be integer ids", path,
                              value_text(raw.masked_select(fraction)[0].item<double>())));
  }
  // int32 holds every id map_labels can address; anything wider is checked before the cast wraps it.
  if (raw.scalar_type() == torch::kLong || at::isFloatingType(raw.scalar_type())) {
    const auto lo = raw.min(), hi = raw.max();
    const bool wide = raw.scalar_type() == torch::kLong;
    const double min = lo.item<double>(), max = hi.item<double>();
    const auto text = [&](const at::Tensor& v) {
      return wide ? fmt::format("{}", v.item<int64_t>()) : value_text(v.item<double>());
    };
    if (min < std::numeric_limits<std::int32_t>::min())
      throw Error(fmt::format("{}: label value {} is outside the supported ids 0..65535", path, text(lo)));
    if (max > std::numeric_limits<std::int32_t>::max())
      throw Error(fmt::format("{}: label value {} is outside the supported ids 0..65535", path, text(hi)));
  }
  return raw.to(torch::kInt).contiguous();
}

void check_label_range(const at::Tensor& labels, const std::string& path, const DatasetSection& d) {
  if (labels.numel() == 0) return;
  const int min = labels.min().item<int>(), max = labels.max().item<int>();
  if (min >= 0 && max <= 65535) return;
  const bool mapped = !d.merge_labels.empty() || !d.keep_labels.empty() || !d.drop_labels.empty();
  throw Error(fmt::format("{}: label value {} is outside the supported ids 0..65535{}", path, min < 0 ? min : max,
                          mapped ? " (after merge_labels, keep_labels and drop_labels)" : ""));
}

}  // namespace medsam::prep

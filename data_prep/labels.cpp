#include "data_prep/labels.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "data_prep/prep_config.h"
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
}

}  // namespace medsam::prep

#include "medsam/data/modality.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "medsam/core/error.h"
#include "medsam/data/shard_format.h"

namespace medsam::data {
namespace {
constexpr const char* kNames[kModalityCount] = {"other", "ct", "mr", "pet", "us", "xray", "endoscopy",
                                                "dermoscopy", "fundus", "pathology", "oct", "mammography"};
}

const char* modality_name(Modality m) {
  const auto i = static_cast<int>(m);
  return i < kModalityCount ? kNames[i] : "other";
}

Modality parse_modality(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n == "mri") n = "mr";
  if (n == "ultrasound") n = "us";
  if (n == "x-ray") n = "xray";
  for (int i = 0; i < kModalityCount; ++i)
    if (n == kNames[i]) return static_cast<Modality>(i);
  std::string known;
  for (const char* k : kNames) known += (known.empty() ? "" : ", ") + std::string(k);
  throw UsageError(fmt::format("unknown modality '{}' (known: {})", name, known));
}

bool is_ct(Modality m) { return m == Modality::kCt; }

const char* split_name(Split s) {
  switch (s) {
    case Split::kTrain: return "train";
    case Split::kVal: return "val";
    case Split::kTest: return "test";
  }
  return "train";
}

}  // namespace medsam::data

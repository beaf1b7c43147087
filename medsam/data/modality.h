// Modality ids stored in shard indexes (one byte). Ids are part of the format: never renumber.
#pragma once

#include <cstdint>
#include <string>

namespace medsam::data {

enum class Modality : std::uint8_t {
  kOther = 0, kCt = 1, kMr = 2, kPet = 3, kUltrasound = 4, kXray = 5, kEndoscopy = 6,
  kDermoscopy = 7, kFundus = 8, kPathology = 9, kOct = 10, kMammography = 11,
};
constexpr int kModalityCount = 12;

// Lower-case names: other, ct, mr, pet, us, xray, endoscopy, dermoscopy, fundus, pathology, oct,
// mammography.
const char* modality_name(Modality m);
// Accepts the names above (case-insensitive; also "mri", "ultrasound", "x-ray"); throws UsageError.
Modality parse_modality(const std::string& name);
// True for the modalities MedSAM stores as 3D volumes (CT, MR, PET) — used only for defaults.
bool is_ct(Modality m);

}  // namespace medsam::data

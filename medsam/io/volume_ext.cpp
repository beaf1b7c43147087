// Which file names are volumes (independent of ITK being built in).
#include <algorithm>
#include <cctype>

#include "medsam/io/volume.h"

namespace medsam::io {

bool looks_like_volume_file(const std::string& path) {
  std::string p = path;
  std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* ext : {".nii", ".nii.gz", ".mha", ".mhd", ".nrrd", ".nhdr", ".dcm"}) {
    const std::string e(ext);
    if (p.size() >= e.size() && p.compare(p.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}

}  // namespace medsam::io

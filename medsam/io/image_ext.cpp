// Which file names are 2D images (independent of OpenCV being built in); volume_ext.cpp is its twin.
#include <algorithm>
#include <cctype>

#include "medsam/io/image.h"

namespace medsam::io {

bool looks_like_image_file(const std::string& path) {
  std::string p = path;
  std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* ext : {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}) {
    const std::string e(ext);
    if (p.size() >= e.size() && p.compare(p.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}

}  // namespace medsam::io

#include "medsam/io/file_name.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace medsam::io {

const char* matching_extension(const std::string& path, const std::vector<const char*>& extensions) {
  std::string p = path;
  std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* ext : extensions) {
    const std::size_t n = std::strlen(ext);
    if (p.size() >= n && p.compare(p.size() - n, n, ext) == 0) return ext;
  }
  return nullptr;
}

}  // namespace medsam::io

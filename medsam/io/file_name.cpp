#include "medsam/io/file_name.h"

#include <algorithm>
#include <cctype>

namespace medsam::io {

bool has_extension(const std::string& path, std::initializer_list<const char*> extensions) {
  std::string p = path;
  std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* ext : extensions) {
    const std::string e(ext);
    if (p.size() >= e.size() && p.compare(p.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}

}  // namespace medsam::io

// File-name checks shared by the image and volume readers and the label-file lookup of medsam/eval.
#pragma once

#include <string>
#include <vector>

namespace medsam::io {

// The first of `extensions` (given in lower case, with the dot) that `path` ends in, ignoring case;
// nullptr when none does. List ".nii.gz" before ".gz" for the longer match.
const char* matching_extension(const std::string& path, const std::vector<const char*>& extensions);

// Whether `path` ends in one of `extensions`, ignoring case.
inline bool has_extension(const std::string& path, const std::vector<const char*>& extensions) {
  return matching_extension(path, extensions) != nullptr;
}

}  // namespace medsam::io

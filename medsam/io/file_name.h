// File-name checks shared by the image and volume readers (internal to medsam/io).
#pragma once

#include <initializer_list>
#include <string>

namespace medsam::io {

// Whether `path` ends in one of `extensions` (given in lower case, with the dot), ignoring case.
bool has_extension(const std::string& path, std::initializer_list<const char*> extensions);

}  // namespace medsam::io

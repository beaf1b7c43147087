// The one check the config sections' validate() use: a failed condition throws ConfigValueError naming
// the dotted keys involved (resolve_config adds where each was set).
#pragma once

#include <initializer_list>
#include <string>

#include "medsam/core/error.h"

namespace medsam {

inline void require_config(bool ok, std::initializer_list<const char*> keys, const std::string& what) {
  if (!ok) throw ConfigValueError(std::vector<std::string>(keys.begin(), keys.end()), "config: " + what);
}

}  // namespace medsam

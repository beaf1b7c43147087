// Finds a python3 that can import the given modules (for interop tests); "" when there is none.
#pragma once

#include <map>
#include <string>

#include "tests/support/run_command.h"

namespace medsam::test {

inline std::string python_with(const std::string& modules) {
  static std::map<std::string, std::string> cache;
  auto it = cache.find(modules);
  if (it != cache.end()) return it->second;
  std::string found;
  // Debian's python3-torch lives under /usr/bin/python3; a pyenv python3 on PATH may lack it.
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    if (run_command(std::string(candidate) + " -c 'import " + modules + "'").exit_code == 0) {
      found = candidate;
      break;
    }
  }
  return cache[modules] = found;
}

}  // namespace medsam::test

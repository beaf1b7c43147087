// For subcommands whose library part has not landed yet: they parse their options (so --help and
// --dump-config work) and then say plainly that the job itself does not exist yet.
#pragma once

#include <string>

#include "medsam/core/error.h"

namespace medsam::tools {

[[noreturn]] inline int not_implemented(const std::string& command, const std::string& what) {
  throw NotImplementedError("'medsam " + command + "' is not implemented yet: " + what + " has not landed");
}

}  // namespace medsam::tools

#include <CLI/CLI.hpp>

#include "tools/command.h"
#include "tools/not_implemented.h"

namespace medsam::tools {

RunFn add_info_command(CLI::App& app) {
  auto* sub = app.add_subcommand("info", "Describe a checkpoint: format, architecture, tensors, parameters");
  (void)sub;
  return [] { return not_implemented("info", "checkpoint inspection (issue 4)"); };
}

}  // namespace medsam::tools

#include <CLI/CLI.hpp>

#include "tools/command.h"
#include "tools/not_implemented.h"

namespace medsam::tools {

RunFn add_prep_command(CLI::App& app) {
  auto* sub = app.add_subcommand("prep", "Turn raw datasets into sharded, indexed training data");
  (void)sub;
  return [] { return not_implemented("prep", "data preparation (issue 6)"); };
}

}  // namespace medsam::tools

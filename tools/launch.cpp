#include <CLI/CLI.hpp>

#include "tools/command.h"
#include "tools/not_implemented.h"

namespace medsam::tools {

RunFn add_launch_command(CLI::App& app) {
  auto* sub = app.add_subcommand("launch", "Start N local training processes with a rendezvous (Gloo/NCCL)");
  (void)sub;
  return [] { return not_implemented("launch", "the launcher (issue 9)"); };
}

}  // namespace medsam::tools

#include <CLI/CLI.hpp>

#include "tools/command.h"
#include "tools/not_implemented.h"

namespace medsam::tools {

RunFn add_export_command(CLI::App& app) {
  auto* sub = app.add_subcommand("export", "Write a checkpoint as .pth (loads in PyTorch) or .safetensors");
  (void)sub;
  return [] { return not_implemented("export", "checkpoint export (issue 4)"); };
}

}  // namespace medsam::tools

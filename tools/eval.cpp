#include <CLI/CLI.hpp>

#include "medsam/core/config.h"
#include "tools/command.h"
#include "tools/not_implemented.h"

namespace medsam::tools {

RunFn add_eval_command(CLI::App& app) {
  auto* sub = app.add_subcommand("eval", "Score predictions or a checkpoint with DSC and NSD");
  auto options = std::make_shared<ConfigOptions>();
  options->add_to(*sub);
  return [options]() {
    Config config = options->resolve();
    if (options->dump_if_asked(config)) return 0;
    return not_implemented("eval", "evaluation (issue 10)");
  };
}

}  // namespace medsam::tools

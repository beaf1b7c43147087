#include <CLI/CLI.hpp>

#include "medsam/core/config.h"
#include "tools/command.h"
#include "tools/not_implemented.h"

namespace medsam::tools {

RunFn add_infer_command(CLI::App& app) {
  auto* sub = app.add_subcommand("infer", "Segment a 2D image or 3D volume from box/point prompts");
  auto options = std::make_shared<ConfigOptions>();
  options->add_to(*sub);
  return [options]() {
    Config config = options->resolve();
    if (options->dump_if_asked(config)) return 0;
    return not_implemented("infer", "inference (issue 5)");
  };
}

}  // namespace medsam::tools

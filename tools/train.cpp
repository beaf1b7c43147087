#include <CLI/CLI.hpp>

#include "medsam/core/config.h"
#include "tools/command.h"
#include "tools/not_implemented.h"

namespace medsam::tools {

RunFn add_train_command(CLI::App& app) {
  auto* sub = app.add_subcommand("train", "Fine-tune SAM/MedSAM on prepared shards");
  auto options = std::make_shared<ConfigOptions>();
  options->add_to(*sub);
  return [options]() {
    Config config = options->resolve();
    if (options->dump_if_asked(config)) return 0;
    return not_implemented("train", "training (issue 8)");
  };
}

}  // namespace medsam::tools

#include <CLI/CLI.hpp>

#include "medsam/core/config.h"
#include "tools/command.h"
#include "tools/not_implemented.h"

namespace medsam::tools {

RunFn add_bench_command(CLI::App& app) {
  auto* sub = app.add_subcommand("bench", "Measure encoder, decoder and training-step speed and memory");
  auto options = std::make_shared<ConfigOptions>();
  options->add_to(*sub);
  return [options]() {
    Config config = options->resolve();
    if (options->dump_if_asked(config)) return 0;
    return not_implemented("bench", "benchmarks (issue 3/8)");
  };
}

}  // namespace medsam::tools
